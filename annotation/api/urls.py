from django.urls import path

from annotation.api import admin_api, catalog, review, taxonomy, training
from annotation.api.export import ExportView

app_name = "api"
urlpatterns = [
    path("export/", ExportView.as_view(), name="export"),
    # Catalogue and review.
    # External ids are the catalogue's own, so they may hold any character: <path:>
    # takes slashes too. The fixed routes come first; a greedy id would swallow
    # them. products/bulk/ also serves the product whose id is "bulk" (GET, PATCH).
    path("products/", catalog.ProductListView.as_view(), name="products"),
    path("products/bulk/", catalog.ProductBulkView.as_view(), name="products-bulk"),
    path(
        "products/<path:external_id>/suggestions/",
        catalog.ProductSuggestionsView.as_view(),
        name="product-suggestions",
    ),
    path(
        "products/<path:external_id>/review/",
        review.ProductReviewView.as_view(),
        name="product-review",
    ),
    path("products/<path:external_id>/", catalog.ProductDetailView.as_view(), name="product"),
    path("review/next/", review.ReviewNextView.as_view(), name="review-next"),
    path("review/undo/", review.ReviewUndoView.as_view(), name="review-undo"),
    path("review/<path:external_id>/skip/", review.ReviewSkipView.as_view(), name="review-skip"),
    # Taxonomy.
    path("facets/", taxonomy.FacetListView.as_view(), name="facets"),
    path("facets/<int:pk>/", taxonomy.FacetDetailView.as_view(), name="facet"),
    path("tags/", taxonomy.TagListView.as_view(), name="tags"),
    path("tags/<int:pk>/", taxonomy.TagDetailView.as_view(), name="tag"),
    path("tags/<int:pk>/merge/", taxonomy.TagMergeView.as_view(), name="tag-merge"),
    path("tags/<int:pk>/deprecate/", taxonomy.TagDeprecateView.as_view(), name="tag-deprecate"),
    # Training.
    path("training/runs/", training.TrainingRunListView.as_view(), name="training-runs"),
    path("training/runs/<int:pk>/", training.TrainingRunDetailView.as_view(), name="training-run"),
    path(
        "training/runs/<int:pk>/cancel/",
        training.TrainingRunCancelView.as_view(),
        name="training-run-cancel",
    ),
    path("training/versions/", training.ModelVersionListView.as_view(), name="model-versions"),
    path(
        "training/versions/<int:pk>/",
        training.ModelVersionDetailView.as_view(),
        name="model-version",
    ),
    path(
        "training/versions/<int:pk>/promote/",
        training.ModelVersionPromoteView.as_view(),
        name="model-version-promote",
    ),
    path(
        "training/versions/<int:pk>/rollback/",
        training.ModelVersionRollbackView.as_view(),
        name="model-version-rollback",
    ),
    # Access.
    path("tokens/", admin_api.TokenListView.as_view(), name="tokens"),
    path("tokens/<int:pk>/", admin_api.TokenDetailView.as_view(), name="token"),
    path("tokens/<int:pk>/revoke/", admin_api.TokenRevokeView.as_view(), name="token-revoke"),
    path("webhooks/", admin_api.WebhookListView.as_view(), name="webhooks"),
    path("webhooks/<int:pk>/", admin_api.WebhookDetailView.as_view(), name="webhook"),
    path(
        "webhooks/<int:pk>/deliveries/",
        admin_api.WebhookDeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
]
