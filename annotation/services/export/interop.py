"""The export in the formats teams move between: Label Studio tasks and a
Hugging Face `datasets` JSONL with its dataset card.

Both are built from the export's records (records.py), so they carry the same
products, filters and incremental `updated_since` as the JSON export."""

from collections import Counter
from collections.abc import Iterator

import orjson

from annotation.models import Tag
from annotation.services.export.formats import _pieces
from annotation.services.export.records import Cursor, ExportFilter, _products, iter_records

# Label Studio: each facet is a Choices control over the product's title.
LABEL_STUDIO_TEXT = "title"
# The Hugging Face layout: the card's `configs` point at this file.
HF_DATA_FILE = "data/train.jsonl"
HF_FEATURES = (
    ("id", "string"),
    ("title", "string"),
    ("category", "string"),
    ("tags", None),  # a sequence of strings
    ("changed_at", "string"),
)


def label_studio_task(record: dict) -> dict:
    """One Label Studio task: the product as `data`, its approved tags as one
    completed annotation (a Choices result per facet), provenance in `meta`."""
    by_facet: dict[str, list[str]] = {}
    for tag in record["tags"]:
        by_facet.setdefault(tag["facet"], []).append(tag["value"])
    result = [
        {
            "from_name": facet,
            "to_name": LABEL_STUDIO_TEXT,
            "type": "choices",
            "value": {"choices": values},
        }
        for facet, values in by_facet.items()
    ]
    return {
        "data": {"id": record["id"], "title": record["title"], "category": record["category"]},
        "annotations": [{"result": result, "was_cancelled": False}],
        "meta": {
            "changed_at": record["changed_at"],
            "decided_by": sorted({t["decided_by"] for t in record["tags"] if t["decided_by"]}),
        },
    }


def stream_label_studio(flt: ExportFilter, after: Cursor | None = None) -> Iterator[bytes]:
    """A JSON array of Label Studio tasks (its import reads such a file)."""

    def parts() -> Iterator[bytes]:
        yield b"["
        for index, record in enumerate(iter_records(flt, after)):
            yield (b",\n" if index else b"\n") + orjson.dumps(label_studio_task(record))
        yield b"\n]\n"

    return _pieces(parts())


def label_studio_config(facets: dict[str, list[str]], multiple: set[str]) -> str:
    """A labelling config with one Choices control per facet, for the tasks above."""
    controls = []
    for facet, values in facets.items():
        choice = "multiple" if facet in multiple else "single"
        options = "".join(f'<Choice value="{_xml(v)}"/>' for v in values)
        controls.append(
            f'  <Choices name="{_xml(facet)}" toName="{LABEL_STUDIO_TEXT}" '
            f'choice="{choice}">{options}</Choices>'
        )
    body = "\n".join(controls)
    return f'<View>\n  <Text name="{LABEL_STUDIO_TEXT}" value="$title"/>\n{body}\n</View>\n'


def _xml(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def hf_row(record: dict) -> dict:
    return {
        "id": record["id"],
        "title": record["title"],
        "category": record["category"],
        "tags": [tag["tag"] for tag in record["tags"]],
        "changed_at": record["changed_at"],
    }


def stream_hf(flt: ExportFilter, after: Cursor | None = None) -> Iterator[bytes]:
    """One `datasets` row per line: id, title, category, tags (facet:value keys)."""
    return _pieces(
        orjson.dumps(hf_row(r), option=orjson.OPT_APPEND_NEWLINE) for r in iter_records(flt, after)
    )


def dataset_card(flt: ExportFilter, after: Cursor | None = None) -> str:
    """The dataset card (README.md) for the HF export with the same filters: the
    `datasets` front matter (configs, features, split size) and the tag counts."""
    counts: Counter[str] = Counter()
    rows = 0
    for record in iter_records(flt, after):
        rows += 1
        counts.update(tag["tag"] for tag in record["tags"])
    languages = sorted(
        {code for code in _products(flt).values_list("language", flat=True).distinct() if code}
    )
    features = "\n".join(
        f"  - name: {name}\n    dtype: {dtype}"
        if dtype
        else f"  - name: {name}\n    sequence: string"
        for name, dtype in HF_FEATURES
    )
    front = (
        "---\n"
        f"language: [{', '.join(languages)}]\n"
        "task_categories: [text-classification]\n"
        "task_ids: [multi-label-classification]\n"
        "configs:\n"
        "- config_name: default\n"
        "  data_files:\n"
        "  - split: train\n"
        f"    path: {HF_DATA_FILE}\n"
        "dataset_info:\n"
        "  features:\n"
        f"{features}\n"
        "  splits:\n"
        "  - name: train\n"
        f"    num_examples: {rows}\n"
        "---\n"
    )
    table = "\n".join(f"| `{key}` | {count} |" for key, count in sorted(counts.items()))
    return (
        f"{front}\n# Product tags exported from Tagger\n\n"
        f"{rows} products, each with the tags people approved (or imported as approved) "
        "in Tagger's human-in-the-loop review. `tags` holds `facet:value` keys; a "
        "product with none had every tag rejected or removed.\n\n"
        f'Load it with `datasets.load_dataset("<this folder>")` or '
        f'`load_dataset("json", data_files="{HF_DATA_FILE}")`.\n\n'
        "## Tags\n\n| tag | products |\n|---|---|\n"
        f"{table}\n"
    )


def taxonomy_for_label_studio() -> tuple[dict[str, list[str]], set[str]]:
    """The active taxonomy as (facet -> values, multi-valued facets)."""
    facets: dict[str, list[str]] = {}
    multiple: set[str] = set()
    for facet, name, multi in (
        Tag.objects.filter(status=Tag.Status.ACTIVE, merged_into=None)
        .order_by("group__position", "group__name", "name")
        .values_list("group__name", "name", "group__multi_valued")
    ):
        facets.setdefault(facet, []).append(name)
        if multi:
            multiple.add(facet)
    return facets, multiple


__all__ = [
    "HF_DATA_FILE",
    "dataset_card",
    "label_studio_config",
    "label_studio_task",
    "stream_hf",
    "stream_label_studio",
    "taxonomy_for_label_studio",
]
