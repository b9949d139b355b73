"""Taxonomy services: facets (TagGroup) and their tags.

file_import.py reads a taxonomy file and creates or updates facets and tags
from it; lifecycle.py renames, re-aliases, merges and deprecates tags;
unmerge.py undoes a merge from its TagMerge record (merge_records.py) and
previews merges and unmerges; names.py holds the name rules. Refusals raise
annotation.errors.TaxonomyError.
"""

from annotation.services.taxonomy.file_import import (
    TaxonomyResult,
    facet_named,
    import_taxonomy,
    tag_named,
)
from annotation.services.taxonomy.lifecycle import (
    MergeResult,
    affected_products,
    check_aliases,
    check_merge,
    check_name,
    deprecate_tag,
    merge_tags,
    rename_tag,
    set_aliases,
)
from annotation.services.taxonomy.names import (
    MAX_FACET,
    MAX_TAG,
    check_facet_name,
    facet_name_problem,
    is_facet_name,
)
from annotation.services.taxonomy.unmerge import (
    MergePreview,
    UnmergeResult,
    last_merge,
    merge_preview,
    unmerge_tag,
)

__all__ = [
    "MAX_FACET",
    "MAX_TAG",
    "MergePreview",
    "MergeResult",
    "TaxonomyResult",
    "UnmergeResult",
    "affected_products",
    "check_aliases",
    "check_facet_name",
    "check_merge",
    "check_name",
    "deprecate_tag",
    "facet_name_problem",
    "facet_named",
    "import_taxonomy",
    "is_facet_name",
    "last_merge",
    "merge_preview",
    "merge_tags",
    "rename_tag",
    "set_aliases",
    "tag_named",
    "unmerge_tag",
]
