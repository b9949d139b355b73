"""GET /healthz and the container health check command."""

import os
import time
from pathlib import Path
from unittest import mock

import pytest
from django.test import Client, override_settings

from tagger import healthcheck


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=["tagger.example.com"], SECURE_SSL_REDIRECT=True)
def test_healthz_answers_on_any_host_without_redirect_or_login() -> None:
    response = Client().get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=["tagger.example.com"], SECURE_SSL_REDIRECT=True)
def test_other_paths_still_check_the_host() -> None:
    response = Client().get("/login/", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 400


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_fails() -> None:
    with mock.patch("tagger.health.connection") as connection:
        connection.cursor.side_effect = RuntimeError("database gone")
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


def test_web_check_fails_when_nothing_listens() -> None:
    ok, why = healthcheck.check_web("http://127.0.0.1:9/healthz", timeout=2)
    assert not ok
    assert "127.0.0.1:9" in why


def test_beat_check_reads_the_newest_schedule_file(tmp_path: Path) -> None:
    schedule = tmp_path / "celerybeat-schedule"
    assert healthcheck.check_beat(schedule, max_age=600)[0] is False
    # dbm.dumb writes .dat/.dir/.bak beside the name; gdbm the name itself.
    old = tmp_path / "celerybeat-schedule.dat"
    old.write_bytes(b"x")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    assert healthcheck.check_beat(schedule, max_age=600)[0] is False
    (tmp_path / "celerybeat-schedule.dir").write_bytes(b"x")
    ok, why = healthcheck.check_beat(schedule, max_age=600)
    assert ok, why


def test_main_exits_nonzero_when_unhealthy(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert healthcheck.main(["beat", "--schedule", str(tmp_path / "missing")]) == 1
    assert "unhealthy" in capsys.readouterr().out
