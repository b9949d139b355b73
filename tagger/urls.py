from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from annotation.api.urls import urlpatterns as annotation_api
from tagger.login import ThrottledAdminAuthenticationForm, ThrottledLoginView
from tagger.schema_view import SchemaView
from training.api.urls import urlpatterns as training_api

# The admin's own login form goes through the same throttle (the backend counts
# every password check); this form only tells a throttled admin why.
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(([*annotation_api, *training_api], "api"))),
    # YAML by default; ?format=json or Accept: application/json for JSON.
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("training.urls")),
    path("", include("annotation.urls")),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
