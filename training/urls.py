from django.urls import path

from training import views

app_name = "training"
urlpatterns = [
    path("", views.models_page, name="models"),
    path("progress/", views.run_progress, name="progress"),
    path("train/", views.start_training, name="train"),
    path("runs/<int:run_id>/cancel/", views.cancel_training, name="cancel"),
    path("versions/<int:version_id>/promote/", views.promote_version, name="promote"),
    path("versions/<int:version_id>/rollback/", views.rollback_version, name="rollback"),
]
