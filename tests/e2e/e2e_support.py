"""Helpers of the end-to-end tests: free ports and ``di-backend start`` processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Generator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "docs" / "examples"
LOOPBACK = "127.0.0.1"
WAIT = 20.0  # seconds; bounds every wait on a process (start, readiness, exit)
CLIENT_TIMEOUT = httpx.Timeout(10.0)  # bounds every request the tests send
READINESS = "/.backstage/health/v1/readiness"


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct ports that were free on 127.0.0.1 a moment ago.

    Each is bound to port 0 and closed again; all are held open together so that no
    two are the same. Another process could take one before the backend binds it:
    the backend then fails to start and the test fails with its output.
    """
    with ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            for _ in range(count)
        ]
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def _command() -> list[str]:
    """The ``di-backend`` console script of this environment (else ``python -m di_backend``)."""
    script = shutil.which("di-backend", path=str(Path(sys.executable).parent))
    return [script] if script is not None else [sys.executable, "-m", "di_backend"]


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a backend process: JSON logs, no inherited config overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_CONFIG_", "LOG_"))}
    env["LOG_FORMAT"] = "json"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass
class BackendProcess:
    """A running ``di-backend start`` process listening on ``127.0.0.1:<port>``."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    stderr_path: Path

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{LOOPBACK}:{self.port}"

    def get(self, path: str, *, token: str | None = None) -> httpx.Response:
        """Send ``GET <path>`` (bounded by :data:`CLIENT_TIMEOUT`), with a bearer token if given."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        with httpx.Client(timeout=CLIENT_TIMEOUT, trust_env=False) as http:
            return http.get(f"{self.base_url}{path}", headers=headers)

    def records(self) -> list[dict[str, object]]:
        """The JSON log lines written so far."""
        found: list[dict[str, object]] = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                value: object = json.loads(line)
                if isinstance(value, dict):
                    found.append({str(k): v for k, v in value.items()})  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        return found

    def output(self) -> str:
        """Everything the process wrote so far, for failure messages."""
        stdout = self.log_path.read_text(encoding="utf-8")
        stderr = self.stderr_path.read_text(encoding="utf-8")
        return f"--- {self.name} stdout\n{stdout}--- {self.name} stderr\n{stderr}"

    def wait_until_ready(self, *, timeout: float = WAIT, summary: bool = True) -> dict[str, object]:
        """Poll readiness until 200, then return the startup summary log record.

        With ``summary=False`` (a process that is not di_backend) return ``{}`` as
        soon as readiness answers 200.

        Raises:
            AssertionError: the process ended, or ``timeout`` (default :data:`WAIT`)
                passed first.
        """
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=httpx.Timeout(1.0), trust_env=False) as http:
            while True:
                if self.process.poll() is not None:
                    raise AssertionError(f"{self.name} exited early\n{self.output()}")
                try:
                    if http.get(f"{self.base_url}{READINESS}").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{self.name} not ready within {timeout}s\n{self.output()}"
                    )
                time.sleep(0.05)
        while summary:  # the summary is logged right after readiness turns 200
            for record in self.records():
                if str(record.get("message", "")).startswith("Backend started in"):
                    return record
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} logged no summary\n{self.output()}")
            time.sleep(0.05)
        return {}

    def stop(self) -> int:
        """Send SIGTERM and return the exit code (the wait is bounded by :data:`WAIT`)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=WAIT)

    def kill(self) -> None:
        """SIGKILL: the process dies without any clean-up."""
        self.process.kill()
        self.process.wait(timeout=WAIT)

    def ensure_stopped(self) -> None:
        """SIGTERM, then SIGKILL if the process has not exited within :data:`WAIT`."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=WAIT)


@contextmanager
def running(
    name: str,
    configs: Sequence[Path],
    port: int,
    tmp_path: Path,
    env: Mapping[str, str] | None = None,
    *,
    cwd: Path = EXAMPLES,
) -> Generator[BackendProcess]:
    """Run ``di-backend start --config ...`` from ``docs/examples`` until the block ends.

    The process is stopped in ``finally`` (SIGTERM, then SIGKILL after a bounded wait).
    """
    args = [arg for config in configs for arg in ("--config", str(config))]
    log_path, stderr_path = tmp_path / f"{name}.log", tmp_path / f"{name}.err"
    with log_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [*_command(), "start", *args],
            cwd=cwd,  # the documented command runs in docs/examples: features import from it
            env=_env(env),
            stdout=stdout,
            stderr=stderr,
        )
    backend = BackendProcess(name, port, process, log_path, stderr_path)
    try:
        yield backend
    finally:
        backend.ensure_stopped()
