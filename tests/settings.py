"""Test settings: the real settings, with a fixed key and fast hashing.

DATABASE_URL and CELERY_BROKER_URL still come from the environment, so the
same suite runs on SQLite and on PostgreSQL + Redis.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
# Tiny test models train faster on one thread than on two contending ones.
os.environ.setdefault("TAGGER_TORCH_THREADS", "1")
# The same numbers on every machine: without this a CPU with bf16 hardware would embed in
# bf16 (training.ml.encoder.default_precision); tests of bf16 ask for it.
os.environ.setdefault("TAGGER_ENCODER_PRECISION", "fp32")
os.environ.setdefault("TAGGER_VAR_DIR", tempfile.mkdtemp(prefix="tagger-tests-"))

from tagger.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# SQLite tests use a file, not memory, so that a Celery worker started by an
# integration test (another process) reads and writes the same test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.mkdtemp(prefix="tagger-testdb-"), "test.sqlite3")
    }
