"""One example per OpenAPI component, used by tagger/openapi.py for every request
and response that carries it (tests/api/test_openapi_examples.py validates each
against its schema). Plain data: a catalogue of two bilingual products."""

from typing import Any

from annotation.api.imports import CREATED_EXAMPLE

AT = "2026-01-31T12:00:00.000000+00:00"
LATER = "2026-01-31T12:05:00.000000+00:00"
NEXT = "https://tagger.example.com/api/v1/products/?cursor=cD0xMjM%3D"

_TAG = {
    "id": 12,
    "key": "color:red",
    "facet": "color",
    "name": "red",
    "display_name_en": "Red",
    "display_name_zh": "红色",
    "aliases": ["crimson"],
    "description": "",
    "status": "active",
    "merged_into": None,
    "created_at": AT,
    "updated_at": AT,
}
_MERGED_TAG = {**_TAG, "id": 13, "key": "color:crimson", "name": "crimson", "merged_into": 12}
_EXPORT_TAG = {
    "tag": "color:red",
    "facet": "color",
    "value": "red",
    "source": "human",
    "decided_by": "mia",
    "decided_at": AT,
    "model_version": 7,
    "score": 0.93,
}
_PRODUCT = {
    "id": "sku-1001",
    "title": "Red cotton T-shirt",
    "description": "Crew neck, 100% cotton.",
    "brand": "Acme",
    "category": "Apparel > Tops",
    "attributes": {"size": "M"},
    "image_url": "https://cdn.example.com/sku-1001.jpg",
    "language": "en",
    "is_eval": False,
    "reviewed_at": AT,
    "tags_updated_at": AT,
    "created_at": AT,
    "updated_at": AT,
    "tags": ["color:red", "material:cotton"],
}
_PRODUCT_WRITE = {
    "title": "红色纯棉T恤",
    "description": "圆领，100%纯棉。",
    "brand": "Acme",
    "category": "服装 > 上衣",
    "attributes": {"尺码": "M"},
    "image_url": "https://cdn.example.com/sku-2002.jpg",
    "language": "zh",
    "tags": ["color:red"],
}
_TAG_VIEW = {
    "tag_id": 12,
    "key": "color:red",
    "label": "Red",
    "label_zh": "红色",
    "facet": "color",
    "facet_label": "Color",
    "single_valued": True,
    "score": 0.93,
    "suggested": True,
    "selected": True,
    "state": None,
    "evidence": [[0, 3]],
}
_TRAINING_RUN = {
    "id": 31,
    "mode": "head",
    "status": "succeeded",
    "progress": 100.0,
    "stage": "",
    "error": "",
    "model_version": 7,
    "created_by": "ada",
    "created_at": AT,
    "started_at": AT,
    "finished_at": LATER,
    "heartbeat_at": LATER,
    "cancel_requested": False,
}
_IMPORT = {
    "id": 12,
    "source": "catalogue.jsonl",
    "status": "succeeded",
    "stage": "saving",
    "progress": 100.0,
    "file_size": 482133,
    "keep_valid": False,
    "rows_total": 1200,
    "rows_created": 1000,
    "rows_updated": 150,
    "rows_unchanged": 50,
    "rows_rejected": 0,
    "errors": [],
    "errors_omitted": 0,
    "created_by": "ada",
    "started_at": AT,
    "finished_at": LATER,
}
_TOKEN = {
    "id": 4,
    "name": "warehouse sync",
    "user": "sync-bot",
    "scope": "export",
    "prefix": "tgr_a1b2c3d4",
    "created_by": "ada",
    "created_at": AT,
    "last_used_at": LATER,
    "revoked_at": None,
}
_WEBHOOK = {
    "id": 3,
    "url": "https://hooks.example.com/tagger",
    "active": True,
    "events": ["tags.approved", "tags.removed"],
    "version": 1,
    "created_by": "ada",
    "created_at": AT,
}
_VERSION = {
    "id": 7,
    "mode": "head",
    "status": "active",
    "base_model": "multilingual-e5-small",
    "metrics": {"micro_f1": 0.81, "macro_f1": 0.62},
    "micro_f1": 0.81,
    "macro_f1": 0.62,
    "train_size": 1800,
    "tag_count": 140,
    "created_at": AT,
    "promoted_at": LATER,
}

COMPONENT_EXAMPLES: dict[str, Any] = {
    # export
    "ExportTag": _EXPORT_TAG,
    "ExportRecord": {
        "id": "sku-1001",
        "title": "Red cotton T-shirt",
        "category": "Apparel > Tops",
        "changed_at": AT,
        "tags": [_EXPORT_TAG],
        "removed": [
            {**_EXPORT_TAG, "tag": "color:blue", "value": "blue", "score": 0.41},
        ],
    },
    "ExportPage": {
        "results": [
            {
                "id": "sku-1001",
                "title": "Red cotton T-shirt",
                "category": "Apparel > Tops",
                "changed_at": AT,
                "tags": [_EXPORT_TAG],
                "removed": [],
            }
        ],
        "next_cursor": "MjAyNi0wMS0zMVQxMjowMDowMCswMDowMHwxMDAx",
    },
    # products
    "Product": _PRODUCT,
    "ProductCreateRequest": {"id": "sku-2002", **_PRODUCT_WRITE},
    "PatchedProductPatchRequest": {"title": "Red cotton T-shirt, slim fit", "tags": ["fit:slim"]},
    "BulkProductsDocRequest": {
        "products": [
            {"id": "sku-1001", "title": "Red cotton T-shirt", "category": "Apparel > Tops"},
            {"id": "sku-2002", "title": "红色纯棉T恤", "language": "zh"},
        ],
        "keep_valid": False,
    },
    "RowError": {"index": 1, "reason": "title: this field is required"},
    "ImportOutcome": {
        "batch": 12,
        "succeeded": True,
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "rejected": 0,
        "errors": [],
        "errors_omitted": 0,
    },
    "Suggestion": {
        "tag_id": 12,
        "key": "color:red",
        "facet": "color",
        "score": 0.93,
        "selected": True,
        "evidence": [[0, 3]],
    },
    "Suggestions": {
        "model_version": 7,
        "results": [
            {
                "tag_id": 12,
                "key": "color:red",
                "facet": "color",
                "score": 0.93,
                "selected": True,
                "evidence": [[0, 3]],
            }
        ],
    },
    # imports
    "ImportBatch": _IMPORT,
    "ImportBatchDetail": {
        **_IMPORT,
        "created": CREATED_EXAMPLE,
    },
    "ImportError": {"line": 3, "reason": "the id 'sku-1' appears twice: first on line 2"},
    "ImportUploadRequest": {
        "file": '{"id": "sku-1001", "title": "Red cotton T-shirt"}\n',
        "keep_valid": False,
    },
    # predictions
    "PredictionRequest": {
        "product": "sku-1001",
        "tag": "color:red",
        "score": 0.93,
    },
    "PredictionsImportRequest": {
        "model_version": "vendor-tagger-2026-01",
        "predictions": [
            {"product": "sku-1001", "tag": "color:red", "score": 0.93},
            {"product": "sku-2002", "tag": "material:cotton", "score": 0.71},
        ],
        "threshold": 0.5,
    },
    "PredictionsImported": {
        "model_version": 9,
        "name": "vendor-tagger-2026-01",
        "created": 2,
        "updated": 0,
        "rejected": 0,
        "errors": [],
    },
    "PredictionError": {"index": 1, "reason": "no product with the id 'sku-404'"},
    # review
    "Claim": {
        "product": _PRODUCT,
        "reason": "uncertain",
        "priority": 0.87,
        "lease_expires_at": LATER,
        "model_version": 7,
        "tags": [_TAG_VIEW],
    },
    "TagView": _TAG_VIEW,
    "DecisionRequest": {"tag": "color:red", "approved": True},
    "SubmitRequest": {
        "decisions": [
            {"tag": "color:red", "approved": True},
            {"tag": "color:blue", "approved": False},
        ],
        "note": "",
    },
    "Reviewed": {
        "submission": "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f",
        "product": "sku-1001",
        "decisions": 2,
        "tags": [{**_TAG_VIEW, "state": "approved"}],
    },
    # taxonomy
    "Facet": {
        "id": 2,
        "name": "color",
        "display_name_en": "Color",
        "display_name_zh": "颜色",
        "description": "The main colour",
        "multi_valued": False,
        "position": 0,
    },
    "FacetRequest": {
        "name": "material",
        "display_name_en": "Material",
        "display_name_zh": "材质",
        "description": "",
        "multi_valued": True,
        "position": 1,
    },
    "PatchedFacetRequest": {"display_name_zh": "颜色", "position": 0},
    "Tag": _TAG,
    "TagDetail": {**_TAG, "affected_products": 214},
    "TagCreateRequest": {
        "facet": "color",
        "name": "red",
        "display_name_en": "Red",
        "display_name_zh": "红色",
        "description": "",
        "aliases": ["crimson"],
    },
    "PatchedTagPatchRequest": {"display_name_zh": "大红", "aliases": ["crimson", "scarlet"]},
    "MergeRequest": {"into": 12},
    "Merged": {
        "tag": _MERGED_TAG,
        "into": _TAG,
        "affected_products": 18,
        "moved": 17,
        "folded": 1,
        "events_moved": 40,
        "suggestions_moved": 55,
        "suggestions_dropped": 3,
    },
    "Unmerged": {
        "tag": {**_MERGED_TAG, "merged_into": None},
        "into": _TAG,
        "complete": True,
        "moved_back": 17,
        "recreated": 0,
        "restored": 1,
        "kept": 0,
        "not_restorable": 0,
        "events_moved": 40,
        "suggestions_restored": 55,
    },
    "Deprecated": {
        "tag": {**_TAG, "status": "deprecated"},
        "affected_products": 214,
        "suggestions_withdrawn": 96,
    },
    # access
    "Token": _TOKEN,
    "TokenCreated": {**_TOKEN, "last_used_at": None, "key": "tgr_a1b2c3d4_" + "x" * 32},
    "TokenCreateRequest": {"name": "warehouse sync", "scope": "export", "user": "sync-bot"},
    "Webhook": _WEBHOOK,
    "WebhookCreated": {**_WEBHOOK, "secret": "whsec-" + "k" * 32},
    "WebhookWriteRequest": {
        "url": "https://hooks.example.com/tagger",
        "active": True,
        "events": ["tags.approved", "tags.removed"],
    },
    "PatchedWebhookWriteRequest": {"events": ["tags.changed", "model.promoted"]},
    "Delivery": {
        "id": 88,
        "event": "tags.approved",
        "url": "https://hooks.example.com/tagger",
        "status": "delivered",
        "attempts": 1,
        "response_code": 204,
        "error": "",
        "created_at": AT,
        "delivered_at": AT,
        "payload": {
            "event": "tags.approved",
            "sent_at": AT,
            "products": [{"id": "sku-1001", "tags": ["material:cotton"]}],
        },
    },
    # training
    "TriggerRequest": {"mode": "head"},
    "TrainingRun": _TRAINING_RUN,
    "TrainingRunDetail": {**_TRAINING_RUN, "log": "head epoch 1/8 loss 0.41\n"},
    "ModelVersion": _VERSION,
}

# Errors share one body per status code.
ERROR_EXAMPLES: dict[str, Any] = {
    "400": {"title": ["This field is required."]},
    "401": {"detail": "Authentication credentials were not provided."},
    "403": {"detail": "You do not have permission to perform this action."},
    "404": {"detail": "Not found."},
    "409": {"detail": "The request conflicts with the current state."},
    "415": {"detail": 'Unsupported media type "text/plain" in request.'},
    "429": {"detail": "Request was throttled. Expected available in 1 second."},
    "503": {"detail": "A backing service is unavailable; try again later."},
}

# Bodies that are not a component: (operation id, status code or "request").
MEDIA_EXAMPLES: dict[tuple[str, str], Any] = {
    ("export_tags", "200:application/x-ndjson"): (
        '{"id":"sku-1001","title":"Red cotton T-shirt","category":"Apparel > Tops",'
        f'"changed_at":"{AT}","tags":[],"removed":[]}}\n'
    ),
    ("export_tags", "200:application/vnd.label-studio+json"): [
        {
            "data": {"id": "sku-1001", "title": "Red cotton T-shirt", "category": "Apparel > Tops"},
            "annotations": [
                {
                    "result": [
                        {
                            "from_name": "color",
                            "to_name": "title",
                            "type": "choices",
                            "value": {"choices": ["red"]},
                        }
                    ],
                    "was_cancelled": False,
                }
            ],
            "meta": {"changed_at": AT, "decided_by": ["mia"]},
        }
    ],
    ("export_tags", "200:text/markdown"): (
        "---\nlanguage: [en, zh]\ntask_categories: [text-classification]\n...\n---\n\n"
        "# Product tags exported from Tagger\n"
    ),
    ("export_tags", "200:application/xml"): (
        '<View>\n  <Text name="title" value="$title"/>\n  <Choices name="color" toName="title" '
        'choice="multiple"><Choice value="red"/><Choice value="blue"/></Choices>\n</View>\n'
    ),
    ("export_tags", "200:text/csv"): (
        "id,op,tag,facet,value,source,decided_by,decided_at,model_version,score,changed_at\n"
        f"sku-1001,approved,color:red,color,red,human,mia,{AT},7,0.93,{AT}\n"
    ),
}
