from django.urls import path

from annotation.views import account, imports, products, review, taxonomy

app_name = "annotation"
urlpatterns = [
    path("account/api/", account.api_access, name="api_access"),
    path("review/", review.review_page, name="review"),
    path("review/submit/", review.submit, name="review_submit"),
    path("review/skip/", review.skip, name="review_skip"),
    path("review/undo/", review.undo, name="review_undo"),
    path("review/tags.json", review.tag_index, name="tag_index"),
    path("products/", products.product_list, name="products"),
    path("products/bulk/", products.bulk_tag, name="products_bulk"),
    path("products/<int:product_id>/", products.product_detail, name="product"),
    path("taxonomy/", taxonomy.taxonomy_page, name="taxonomy"),
    path("taxonomy/facets/add/", taxonomy.add_facet, name="taxonomy_add_facet"),
    path(
        "taxonomy/facets/<int:facet_id>/category/",
        taxonomy.mark_category_facet,
        name="taxonomy_category_facet",
    ),
    path("taxonomy/tags/add/", taxonomy.add_tag, name="taxonomy_add_tag"),
    path("taxonomy/tags/<int:tag_id>/", taxonomy.tag_detail, name="taxonomy_tag"),
    path("taxonomy/tags/<int:tag_id>/rename/", taxonomy.rename, name="taxonomy_rename"),
    path("taxonomy/tags/<int:tag_id>/merge/", taxonomy.merge, name="taxonomy_merge"),
    path("taxonomy/tags/<int:tag_id>/unmerge/", taxonomy.unmerge, name="taxonomy_unmerge"),
    path("taxonomy/tags/<int:tag_id>/deprecate/", taxonomy.deprecate, name="taxonomy_deprecate"),
    path("taxonomy/tags/<int:tag_id>/aliases/", taxonomy.aliases, name="taxonomy_aliases"),
    path("taxonomy/tags/<int:tag_id>/names/", taxonomy.display_names, name="taxonomy_names"),
    path("taxonomy/tags/<int:tag_id>/facets/", taxonomy.category_rule, name="taxonomy_facets"),
    path("import/", imports.import_view, name="import"),
    path("import/<int:batch_id>/", imports.import_batch, name="import_batch"),
    path("import/<int:batch_id>/progress/", imports.import_progress, name="import_progress"),
]
