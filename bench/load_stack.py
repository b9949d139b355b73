"""The real stack on loopback, for bench/load.py and the fault tests: gunicorn and
a Celery worker as child processes, and a browser-like HTTP session (cookies,
CSRF, keep-alive) built on the standard library only.

Nothing here imports Django, so the load generator's threads stay light."""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

_CSRF_INPUT_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _expired(expires: str) -> bool:
    if not expires:
        return False
    try:
        return parsedate_to_datetime(expires).timestamp() < time.time()
    except (TypeError, ValueError):
        return False


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    elapsed_ms: float

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


class WebSession:
    """One visitor: a keep-alive connection and a cookie jar. Not thread-safe:
    one per simulated user."""

    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _store_cookies(self, values: Iterable[str]) -> None:
        for value in values:
            jar = SimpleCookie()
            jar.load(value)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or _expired(morsel["expires"]):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] = {}
    ) -> Response:
        all_headers = {"Host": f"{self.host}:{self.port}", **headers}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            all_headers["Content-Length"] = str(len(body))
        # A kept-alive connection the server closed meanwhile is retried once on a
        # fresh one: only failures to send count, never a request the server saw.
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            start = time.perf_counter()
            try:
                self._conn.request(method, path, body=body, headers=all_headers)
                raw = self._conn.getresponse()
                payload = raw.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise
                continue
            elapsed = (time.perf_counter() - start) * 1000
            self._store_cookies(raw.headers.get_all("Set-Cookie") or [])
            if raw.headers.get("Connection", "").lower() == "close":
                self.close()
            return Response(
                raw.status,
                {k.lower(): v for k, v in raw.headers.items()},
                payload.decode("utf-8", "replace"),
                elapsed,
            )
        raise AssertionError("unreachable")

    def get(self, path: str, headers: Mapping[str, str] = {}) -> Response:
        return self.request("GET", path, headers=headers)

    def post(
        self,
        path: str,
        fields: Iterable[tuple[str, str]],
        csrf: bool = True,
        headers: Mapping[str, str] = {},
    ) -> Response:
        """A form post, with the CSRF token from the cookie as a browser's form
        carries it (csrf=False leaves it out)."""
        pairs = list(fields)
        if csrf and "csrftoken" in self.cookies:
            pairs.append(("csrfmiddlewaretoken", self.cookies["csrftoken"]))
        body = urlencode(pairs).encode()
        return self.request(
            "POST",
            path,
            body,
            {"Content-Type": "application/x-www-form-urlencoded", **headers},
        )

    def login(self, username: str, password: str) -> Response:
        """Through the login page, as a person would; raises unless it succeeds."""
        page = self.get("/login/")
        token = _CSRF_INPUT_RE.search(page.body)
        if page.status != 200 or token is None:
            raise RuntimeError(f"login page answered {page.status}")
        response = self.post(
            "/login/",
            [
                ("username", username),
                ("password", password),
                ("csrfmiddlewaretoken", token.group(1)),
            ],
            csrf=False,
        )
        if response.status != 302:
            raise RuntimeError(f"login of {username} answered {response.status}")
        return response


class Service:
    """A child process in its own session, stopped with its whole group."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log
        self._log = log.open("w")
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            os.killpg(self.process.pid, signum)

    def stop(self, grace: float = 15.0) -> None:
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.process.wait()
        self._log.close()

    def tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def start_gunicorn(
    env: Mapping[str, str],
    log: Path,
    *,
    port: int | None = None,
    workers: int = 4,
    threads: int = 4,
    ready_timeout: float = 120.0,
) -> tuple[Service, int]:
    """gunicorn serving tagger.wsgi on 127.0.0.1; returns once /login/ answers."""
    port = port or free_port()
    argv = [
        str(VENV_BIN / "gunicorn"),
        "tagger.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--keep-alive",
        "30",
        "--graceful-timeout",
        "10",
        "--timeout",
        "120",
    ]
    service = Service("gunicorn", argv, env, log)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise RuntimeError(f"gunicorn exited:\n{service.tail()}")
        try:
            probe = WebSession("127.0.0.1", port, timeout=10)
            if probe.get("/login/").status == 200:
                probe.close()
                return service, port
        except OSError:
            pass
        time.sleep(0.3)
    service.stop()
    raise RuntimeError(f"gunicorn did not answer within {ready_timeout:.0f} s:\n{service.tail()}")


def start_celery_worker(
    env: Mapping[str, str], log: Path, *, concurrency: int = 2, queues: str = "celery"
) -> Service:
    argv = [
        str(VENV_BIN / "celery"),
        "-A",
        "tagger",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "--queues",
        queues,
        "--without-mingle",
        "--without-gossip",
    ]
    return Service("celery worker", argv, env, log)


# -- CPU accounting (Linux /proc; None elsewhere) -------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces; the fields after it do not.
    return text.rsplit(")", 1)[1].split()


def process_cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """User + system CPU seconds so far of each live process."""
    seconds = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            seconds[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return seconds


def group_pids(pgid: int) -> list[int]:
    """Every live process in a process group (a service and its children)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def machine_cpu_seconds() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    ticks = [int(v) for v in first[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks) - idle) / _TICK, sum(ticks) / _TICK
