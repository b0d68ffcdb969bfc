"""Helpers for the CLI tests: write small feature packages, run ``di-backend`` in a subprocess."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "docs" / "examples"
TIMEOUT = 20.0  # seconds; every wait on a subprocess is bounded by this


def write_package(root: Path, name: str, source: str) -> None:
    """Write ``root/name/__init__.py`` with ``source`` (dedented)."""
    package = root / name
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(textwrap.dedent(source), encoding="utf-8")


def write_config(root: Path, text: str, name: str = "app-config.yaml") -> Path:
    """Write a YAML config file (dedented) and return its path."""
    path = root / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def cli_env(*pythonpath: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a CLI subprocess: JSON logs, port 0, ``pythonpath`` first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_CONFIG_", "LOG_"))}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), str(REPO)])
    env["LOG_FORMAT"] = "json"
    env["PYTHONUNBUFFERED"] = "1"
    # a free port for the HTTP server, so tests never collide on 7007
    env["APP_CONFIG_backend_listen_port"] = "0"
    env.update(extra or {})
    return env


def run_cli(
    args: Sequence[str], *, cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m di_backend <args>`` to completion (bounded by :data:`TIMEOUT`)."""
    return subprocess.run(
        [sys.executable, "-m", "di_backend", *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


class RunningCli:
    """A ``di-backend`` subprocess whose stdout lines and stderr are read on threads.

    Both pipes are drained while the process runs, so a process that writes much to
    stderr never blocks on a full pipe. Use it as a context manager: the process is
    killed on exit if still running.
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        command: Sequence[str] | None = None,
        preexec_fn: Callable[[], object] | None = None,
    ) -> None:
        self.process = subprocess.Popen(
            [*(command or [sys.executable, "-m", "di_backend"]), *args],
            cwd=cwd,
            env=dict(env),
            preexec_fn=preexec_fn,  # noqa: PLW1509 - only sets resource limits, no threads touched
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self._stderr.extend(self.process.stderr)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = TIMEOUT) -> str:
        """Return the first stdout line (including earlier ones) that matches ``predicate``.

        Raises:
            AssertionError: the process ended or the timeout passed first.
        """
        for line in self.lines:
            if predicate(line):
                return line
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                raise AssertionError(f"no matching line within {timeout}s: {self.lines}") from None
            if item is None:
                raise AssertionError(f"process ended without a matching line: {self.lines}")
            self.lines.append(item)
            if predicate(item):
                return item

    def send(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the process."""
        self.process.send_signal(sig)

    def finish(self) -> tuple[int, str]:
        """Wait for the exit (bounded); return the exit code and stderr."""
        code = self.process.wait(timeout=TIMEOUT)
        self._reader.join(timeout=TIMEOUT)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self.lines.append(item)
        self._stderr_reader.join(timeout=TIMEOUT)
        return code, "".join(self._stderr)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def log_records(lines: Sequence[str]) -> list[dict[str, object]]:
    """Parse the JSON log lines among ``lines``; other lines are skipped."""
    records: list[dict[str, object]] = []
    for line in lines:
        if line.startswith("{"):
            value: object = json.loads(line)
            if isinstance(value, dict):
                records.append({str(k): v for k, v in value.items()})  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return records


def message_is(text: str) -> Callable[[str], bool]:
    """A predicate for :meth:`RunningCli.wait_for`: a JSON log line whose message starts so."""

    def predicate(line: str) -> bool:
        return any(str(r.get("message", "")).startswith(text) for r in log_records([line]))

    return predicate


def write_distribution(
    root: Path, name: str, entry_points: Mapping[str, str], *, group: str = "di_backend.features"
) -> Path:
    """Write an installed-distribution record (``*.dist-info``) that ``importlib.metadata`` finds.

    Args:
        root: a directory on ``sys.path`` (or ``PYTHONPATH``).
        name: the distribution name, e.g. ``acme-todo``.
        entry_points: entry point name -> object reference (``pkg.mod:attr``).
        group: the entry point group.
    """
    dist = root / f"{name.replace('-', '_')}-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8"
    )
    lines = [f"[{group}]", *(f"{key} = {value}" for key, value in entry_points.items())]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dist


PLUGIN_SOURCE = """
    from di_backend import core_services, create_backend_plugin, inject
    from di_backend.services import LoggerService

    def _register(env):
        async def init(logger: LoggerService = inject(core_services.logger)) -> None:
            logger.info("started {plugin_id}")

        env.register_init(init)

    default = create_backend_plugin(plugin_id="{plugin_id}", register=_register)
    plugin = default
"""
"""A package whose ``default`` (and ``plugin``) is a plugin logging ``started <id>``."""


def plugin_source(plugin_id: str) -> str:
    """The source of a package holding plugin ``plugin_id``; see :data:`PLUGIN_SOURCE`."""
    return PLUGIN_SOURCE.replace("{plugin_id}", plugin_id)
