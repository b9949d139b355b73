"""Tagger settings: everything comes from the environment (see README, Configuration)."""

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tagger.env import env_bool, env_float, env_int, env_list, env_str
from tagger.storage_urls import child_url, s3_storage

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TAGGER_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# Demo mode: the embedded single-machine setup that `make run` starts. It may
# generate a secret key and create demo accounts; production never does.
DEMO = env_bool("TAGGER_DEMO", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not (DEBUG or DEMO):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (production), "
            "or set TAGGER_DEMO=true / DEBUG=true for a local demo."
        )
    # Persist the generated key so sessions survive a restart of the demo.
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    generated = secrets.token_urlsafe(50)
    path.write_text(generated)
    path.chmod(0o600)
    return generated


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if (DEBUG or DEMO) else []
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's JS and CSS served from our own static files, so /api/docs/ works offline.
    "drf_spectacular_sidecar",
    "django_htmx",
    "annotation",
    "training",
]

MIDDLEWARE = [
    # GET /healthz, answered before the host check and the https redirect.
    "tagger.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "tagger.middleware.ControlCharacterMiddleware",
    "django.middleware.common.CommonMiddleware",
    "tagger.body_limit.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a signed-in person's remembered language wins.
    "tagger.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tagger.middleware.ContentSecurityPolicyMiddleware",
    # An htmx request turned away by login_required leads the whole tab to the
    # login page (HX-Redirect) instead of swapping it into the page.
    "tagger.htmx.HtmxLoginRedirectMiddleware",
    "tagger.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "tagger.urls"
WSGI_APPLICATION = "tagger.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "annotation.roles.role_context",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tagger.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        # A kept-alive connection the database dropped (a restart, a failover) is
        # noticed at the start of the next request and replaced, instead of
        # failing that request.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; the timeout turns
    # short write contention into a wait instead of "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_cache_url = env_str("CACHE_URL")
if _cache_url.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
        }
    }
elif _cache_url:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, got {_cache_url!r}")
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache" / "django"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Counts and limits every password check before the next backend makes it.
    "tagger.login.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (tagger/login.py): failures per account lock that account;
# failures per client address (a much higher limit) lock that address; both
# for TAGGER_LOGIN_LOCKOUT_SECONDS after the first failure of the window.
TAGGER_LOGIN_MAX_FAILURES = env_int("TAGGER_LOGIN_MAX_FAILURES", 5)
TAGGER_LOGIN_ADDRESS_MAX_FAILURES = env_int("TAGGER_LOGIN_ADDRESS_MAX_FAILURES", 100)
TAGGER_LOGIN_LOCKOUT_SECONDS = env_int("TAGGER_LOGIN_LOCKOUT_SECONDS", 300)
LOGIN_URL = "login"
# htmx posts with a stale token reload their page, or go to the login page.
CSRF_FAILURE_VIEW = "tagger.htmx.csrf_failure"
LOGIN_REDIRECT_URL = "training:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The image collects static files at build time outside the /data volume.
STATIC_ROOT = Path(env_str("TAGGER_STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_ROOT = VAR_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
TAGGER_MAX_UPLOAD_BYTES = env_int("TAGGER_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
# API request bodies: larger or deeper-nested JSON is refused with a 400.
TAGGER_MAX_JSON_BYTES = env_int("TAGGER_MAX_JSON_BYTES", 20 * 1024 * 1024)
TAGGER_MAX_JSON_DEPTH = env_int("TAGGER_MAX_JSON_DEPTH", 32)
# Catalogue imports (docs/security.md, "Uploads"). An uploaded file waits in
# TAGGER_UPLOAD_DIR (shared by the web and the worker hosts) for the worker
# that imports it, and is deleted when its import finishes. The caps bound what
# one file may cost a process, whatever the file holds.
TAGGER_UPLOAD_DIR = Path(env_str("TAGGER_UPLOAD_DIR", str(VAR_DIR / "uploads")))
TAGGER_IMPORT_MAX_INFLATED_BYTES = env_int("TAGGER_IMPORT_MAX_INFLATED_BYTES", 1024**3)
TAGGER_IMPORT_MAX_LINE_BYTES = env_int("TAGGER_IMPORT_MAX_LINE_BYTES", 4 * 1024**2)
TAGGER_IMPORT_MAX_COLUMNS = env_int("TAGGER_IMPORT_MAX_COLUMNS", 500)
TAGGER_IMPORT_MAX_ATTRIBUTES = env_int("TAGGER_IMPORT_MAX_ATTRIBUTES", 200)
TAGGER_IMPORT_MAX_ATTRIBUTE_BYTES = env_int("TAGGER_IMPORT_MAX_ATTRIBUTE_BYTES", 64 * 1024)
TAGGER_IMPORT_MAX_ERRORS = env_int("TAGGER_IMPORT_MAX_ERRORS", 1000)

# Security: the secure defaults apply unless running the local demo over http.
SECURE = not (DEBUG or DEMO)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SECURE)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SECURE)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Proxies in front of the app (a TLS terminator, a load balancer): with n of them,
# the client's address is the n-th X-Forwarded-For entry from the right (login
# throttling, DRF throttles), and X-Forwarded-Proto says whether the client used
# https. With 0 (no proxy) both headers are the client's to forge and are ignored.
TAGGER_TRUSTED_PROXIES = env_int("TAGGER_TRUSTED_PROXIES", 0)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env_bool("TAGGER_PROXY_SSL_HEADER", TAGGER_TRUSTED_PROXIES > 0)
    else None
)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotation.api.auth.ScopedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only, with a size and a nesting limit (a 400 past either).
    "DEFAULT_PARSER_CLASSES": ["annotation.api.parsers.LimitedJSONParser"],
    # An empty Accept header accepts anything, as a missing one does.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "tagger.negotiation.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # `format` is the export's own parameter (json, jsonl, csv), not DRF's override.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_THROTTLE_RATES": {"token": env_str("TAGGER_TOKEN_THROTTLE", "6000/min")},
    # DRF finds a client's address behind the same proxies as the login does.
    "NUM_PROXIES": TAGGER_TRUSTED_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tagger API",
    "DESCRIPTION": "Approved product tags with provenance; catalogue, review and training.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # 3.1 for the `webhooks` section (the events Tagger sends, with their payloads).
    "OAS_VERSION": "3.1.0",
    # Separate request and response components (`ProductRequest` beside `Product`), so
    # generated clients get write models without the read-only fields.
    "COMPONENT_SPLIT_REQUEST": True,
    # Tags per resource, readable operation ids and an example for every request
    # and response: tagger/openapi.py.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tagger.openapi.postprocess",
    ],
    "WEBHOOKS": [
        f"annotation.api.webhook_docs.{name}"
        for name in (
            "TAGS_CHANGED",
            "TAGS_APPROVED",
            "TAGS_REMOVED",
            "MODEL_PROMOTED",
            "IMPORT_FINISHED",
        )
    ],
    # Several models have a `status` or `mode`; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "TagStatusEnum": "annotation.models.catalog.Tag.Status",
        "DeliveryStatusEnum": "annotation.models.integrations.WebhookDelivery.Status",
        "TrainingRunStatusEnum": "training.models.TrainingRun.Status",
        "ModelVersionStatusEnum": "training.models.ModelVersion.Status",
        "ModelVersionModeEnum": "training.models.ModelVersion.Mode",
        "ImportBatchStatusEnum": "annotation.models.ImportBatch.Status",
    },
}

# Celery: a filesystem broker by default, so the demo needs no server.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands an acks_late task (scoring, ranking) whose worker died to
    # another worker only once it has gone unacknowledged this long, so it must
    # exceed the longest such task. Abandoned messages are looked for every
    # tenth of it (every 100 s at most, kombu's default pace: a timer every
    # `interval` seconds that scans on every `throttle`-th tick).
    _visibility = env_int("CELERY_BROKER_VISIBILITY_TIMEOUT", 3600)
    _sweep_every = max(1, min(100, _visibility // 10))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility,
        "unacked_restore_interval": min(10, _sweep_every),
        "unacked_restore_throttle": max(1, _sweep_every // 10),
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Webhooks never reach internal addresses (loopback, private, link-local, ...)
# unless named here: host names, IP addresses or networks (CIDR), comma-separated.
TAGGER_WEBHOOK_ALLOWED_HOSTS = env_list("TAGGER_WEBHOOK_ALLOWED_HOSTS", [])
# Dispatched outbox messages (annotation.services.outbox) are kept this long
# for the record, then deleted by the sweep; pending and failed ones are kept.
TAGGER_OUTBOX_KEEP_DAYS = env_int("TAGGER_OUTBOX_KEEP_DAYS", 7)
# Worker processes lower their CPU priority by this much (0: leave it), so that
# training and scoring on the same host never slow the review pages down.
TAGGER_WORKER_NICE = env_int("TAGGER_WORKER_NICE", 10)
# Training goes to the gpu queue only when GPU workers exist to consume it.
TAGGER_GPU_QUEUE = env_str("TAGGER_GPU_QUEUE", "")
# Scoring (the catalogue and its chunks: the encoder's work) goes to this queue
# when set, so GPU workers that consume it encode; ranking stays on the default
# queue. Like TAGGER_GPU_QUEUE it must be set where tasks are enqueued (web,
# workers, beat, manage.py) and be consumed by some worker (docs/scaling.md).
TAGGER_SCORE_QUEUE = env_str("TAGGER_SCORE_QUEUE", "")
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = (
    {
        name: {"queue": TAGGER_SCORE_QUEUE}
        for name in ("training.tasks.score_catalog", "training.tasks.score_chunk")
    }
    if TAGGER_SCORE_QUEUE
    else {}
)
# How long a command or page waiting on a worker asks the workers whether one
# consumes its queue before saying that none does (Celery's inspect).
TAGGER_WORKER_PING_SECONDS = env_float("TAGGER_WORKER_PING_SECONDS", 2.0)

# The model.
MODEL_DIR = Path(env_str("MODEL_DIR", str(VAR_DIR / "models")))
TAGGER_CACHE_DIR = Path(env_str("TAGGER_CACHE_DIR", str(VAR_DIR / "cache")))
# Storage shared by workers on several machines (tagger/storage_urls.py,
# docs/scaling.md "Storage"). Empty: model versions live in MODEL_DIR only, as on
# one machine. An s3:// URL: versions are published there (files first, then a
# marker) and MODEL_DIR is each worker's local read cache of the ones it loaded;
# uploaded catalogue files go to its "uploads/" unless TAGGER_UPLOAD_STORAGE_URL
# says otherwise.
MODEL_STORAGE_URL = env_str("MODEL_STORAGE_URL", "")
TAGGER_UPLOAD_STORAGE_URL = env_str(
    "TAGGER_UPLOAD_STORAGE_URL",
    child_url(MODEL_STORAGE_URL, "uploads") if MODEL_STORAGE_URL else "",
)
# Encoder embeddings cached by (text hash, encoder): "file" (a SQLite file per
# encoder under TAGGER_CACHE_DIR, each worker its own) or "database" (a table of
# the shared database, so a chunk scored on any worker finds what another
# worker embedded). Shared by default once versions are shared.
TAGGER_EMBEDDING_CACHE = env_str(
    "TAGGER_EMBEDDING_CACHE", "database" if MODEL_STORAGE_URL else "file"
)
if TAGGER_EMBEDDING_CACHE not in ("file", "database"):
    raise ImproperlyConfigured(
        f"TAGGER_EMBEDDING_CACHE must be file or database, got {TAGGER_EMBEDDING_CACHE!r}"
    )
TAGGER_BASE_MODEL = env_str("TAGGER_BASE_MODEL", "")  # "" = the packaged all-MiniLM-L6-v2
TAGGER_TRAIN_MODE = env_str("TAGGER_TRAIN_MODE", "")  # "" = full on CUDA, head on CPU
TAGGER_AUTO_RETRAIN_AFTER = env_int("TAGGER_AUTO_RETRAIN_AFTER", 200)
TAGGER_PROMOTE_MARGIN = env_float("TAGGER_PROMOTE_MARGIN", 0.005)
TAGGER_HEARTBEAT_STALE_SECONDS = env_int("TAGGER_HEARTBEAT_STALE_SECONDS", 120)
TAGGER_LEASE_SECONDS = env_int("TAGGER_LEASE_SECONDS", 600)
# A tag with fewer approved examples than this is "rare": the dashboard's long
# tail and the models page mark it, and the queue's long-tail boost seeks it.
TAGGER_RARE_TAG_EXAMPLES = env_int("TAGGER_RARE_TAG_EXAMPLES", 5)
# The review page pre-ticks a tag only when its calibrated score says it is right
# at least this often (a zero-shot model: only tags named in the text).
TAGGER_PRETICK_PRECISION = env_float("TAGGER_PRETICK_PRECISION", 0.9)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if MODEL_STORAGE_URL:
    STORAGES["models"] = s3_storage(MODEL_STORAGE_URL, "MODEL_STORAGE_URL")
if TAGGER_UPLOAD_STORAGE_URL:
    STORAGES["uploads"] = s3_storage(TAGGER_UPLOAD_STORAGE_URL, "TAGGER_UPLOAD_STORAGE_URL")
# Serve straight from app static folders (no collectstatic step for the demo);
# the image runs collectstatic and serves STATIC_ROOT alone (false there).
WHITENOISE_USE_FINDERS = env_bool("TAGGER_STATIC_FINDERS", True)
