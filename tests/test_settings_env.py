import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tagger.env import env_bool, env_int

ROOT = Path(__file__).resolve().parent.parent
_NOT_PRODUCTION = {"DEBUG", "TAGGER_DEMO", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "TAGGER_DEMO"}}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "tagger.settings"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_env_bool_refuses_anything_but_true_or_false(monkeypatch) -> None:
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG must be true or false"):
        env_bool("X_FLAG")


def test_env_int_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_NUM must be an integer"):
        env_int("X_NUM", 1)


def test_production_refuses_to_start_without_a_secret_key(tmp_path) -> None:
    result = _run("import django; django.setup()", {"TAGGER_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_demo_mode_generates_and_keeps_a_secret_key(tmp_path) -> None:
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    env = {"TAGGER_VAR_DIR": str(tmp_path), "TAGGER_DEMO": "true"}
    first, second = _run(code, env), _run(code, env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == second.stdout.strip()
    assert len(first.stdout.strip()) >= 50


def test_check_deploy_is_clean_under_production_settings(tmp_path) -> None:
    env = {
        "TAGGER_VAR_DIR": str(tmp_path),
        "SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-entropy-0123456789",
        "ALLOWED_HOSTS": "tagger.example.com",
        # Production shares its cache (login throttling): tagger.W001 otherwise.
        "CACHE_URL": "redis://127.0.0.1:6379/1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for their live server.
            **{k: v for k, v in os.environ.items() if k not in _NOT_PRODUCTION},
            **env,
            "DJANGO_SETTINGS_MODULE": "tagger.settings",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_pages_carry_security_headers(client) -> None:
    response = client.get("/login/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
