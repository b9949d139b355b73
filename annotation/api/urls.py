from django.urls import path

from annotation.api import catalog, imports, integrations, review, taxonomy
from annotation.api.export import ExportView

# Included under /api/v1/ by tagger/urls.py, with the training app's API beside it.
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
    path("imports/", imports.ImportListView.as_view(), name="imports"),
    path("imports/<int:pk>/", imports.ImportDetailView.as_view(), name="import"),
    path("review/next/", review.ReviewNextView.as_view(), name="review-next"),
    path("review/undo/", review.ReviewUndoView.as_view(), name="review-undo"),
    path("review/<path:external_id>/skip/", review.ReviewSkipView.as_view(), name="review-skip"),
    # Taxonomy.
    path("facets/", taxonomy.FacetListView.as_view(), name="facets"),
    path("facets/<int:pk>/", taxonomy.FacetDetailView.as_view(), name="facet"),
    path("tags/", taxonomy.TagListView.as_view(), name="tags"),
    path("tags/<int:pk>/", taxonomy.TagDetailView.as_view(), name="tag"),
    path("tags/<int:pk>/merge/", taxonomy.TagMergeView.as_view(), name="tag-merge"),
    path("tags/<int:pk>/unmerge/", taxonomy.TagUnmergeView.as_view(), name="tag-unmerge"),
    path("tags/<int:pk>/deprecate/", taxonomy.TagDeprecateView.as_view(), name="tag-deprecate"),
    # Access.
    path("tokens/", integrations.TokenListView.as_view(), name="tokens"),
    path("tokens/<int:pk>/", integrations.TokenDetailView.as_view(), name="token"),
    path("tokens/<int:pk>/revoke/", integrations.TokenRevokeView.as_view(), name="token-revoke"),
    path("webhooks/", integrations.WebhookListView.as_view(), name="webhooks"),
    path("webhooks/<int:pk>/", integrations.WebhookDetailView.as_view(), name="webhook"),
    path(
        "webhooks/<int:pk>/deliveries/",
        integrations.WebhookDeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
]
