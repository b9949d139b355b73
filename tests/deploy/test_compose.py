"""docker-compose.yml, the Dockerfile and .dockerignore, read as data (no Docker
here: CI runs `docker compose config` where Docker Compose exists)."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKER_SERVICES = ("worker", "gpu-worker")


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose["services"]


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else list(command)


def test_every_service_has_a_health_check(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check, f"service {name} has no healthcheck"
        assert not check.get("disable"), f"service {name} disables its healthcheck"
        assert check.get("test"), f"service {name}: a healthcheck without a test"


def test_beat_is_its_own_service_and_no_worker_runs_it(
    services: dict[str, dict[str, Any]],
) -> None:
    beat = _command(services["beat"])
    assert beat[:4] == ["celery", "-A", "tagger", "beat"]
    runs_beat = [
        name
        for name, service in services.items()
        if name != "beat"
        and (
            "--beat" in _command(service)
            or "-B" in _command(service)
            or "beat" in _command(service)
        )
    ]
    assert runs_beat == []
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1


def test_workers_consume_named_queues(services: dict[str, dict[str, Any]]) -> None:
    for name in WORKER_SERVICES:
        command = _command(services[name])
        assert command[:4] == ["celery", "-A", "tagger", "worker"], name
        assert "-Q" in command, f"{name} consumes no named queue"
    assert "celery" in _command(services["worker"])[_command(services["worker"]).index("-Q") + 1]
    gpu_queues = _command(services["gpu-worker"])[_command(services["gpu-worker"]).index("-Q") + 1]
    assert "gpu" in gpu_queues.split(",")


def test_app_services_wait_for_healthy_dependencies(services: dict[str, dict[str, Any]]) -> None:
    for name in ("web", "beat", *WORKER_SERVICES):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name


def test_the_health_check_commands_exist(services: dict[str, dict[str, Any]]) -> None:
    from tagger import healthcheck

    for name, service in services.items():
        test = service["healthcheck"]["test"]
        if test[:4] == ["CMD", "python", "-m", "tagger.healthcheck"]:
            # The arguments parse (argparse exits 2 on a bad one).
            parser_args = test[4:]
            assert parser_args[0] in ("web", "worker", "beat"), name
            if parser_args[0] == "beat":
                assert "--schedule" in parser_args
                schedule = parser_args[parser_args.index("--schedule") + 1]
                assert schedule in _command(services["beat"]), "beat checks another file"
    assert callable(healthcheck.main)


def test_dockerfile_is_multi_stage_with_collectstatic_and_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, flags=re.MULTILINE)) >= 2
    assert "COPY --from=build" in text
    assert "collectstatic" in text
    assert re.search(r"^HEALTHCHECK ", text, flags=re.MULTILINE)
    assert "download.pytorch.org/whl/cpu" in text


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (".venv", "var", ".git", ".env"):
        assert entry in ignored, f"{entry} would be copied into the image"


def test_licence_is_present_and_names_the_weights() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Permission is hereby granted" in text
    assert "all-MiniLM-L6-v2" in text
    assert "Apache" in text
    assert "multilingual-e5-small" in text
