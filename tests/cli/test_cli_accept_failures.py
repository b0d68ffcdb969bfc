"""A server out of file descriptors logs its failed accepts once, not once per attempt.

A real ``di-backend start`` runs with a soft open-file limit of 128 and a connection
cap above it, and the test holds 200 connections open: asyncio retries the failed
``accept()`` every second, and each retry used to be logged as an unhandled exception
with a stack trace.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from cli_support import RunningCli, cli_env, message_is, write_config

resource = pytest.importorskip("resource")


def _limit_files() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))


def test_accept_failures_are_logged_once_per_interval(tmp_path: Path) -> None:
    """Four seconds out of descriptors give one ``Cannot accept connections`` line, no stack."""
    config = write_config(tmp_path, "backend:\n  server:\n    maxConnections: 5000\n")
    args = ["start", "--config", str(config)]
    with RunningCli(args, cwd=tmp_path, env=cli_env(tmp_path), preexec_fn=_limit_files) as cli:
        listening = json.loads(cli.wait_for(lambda line: "Listening on http" in line))
        port = int(listening["message"].rsplit(":", 1)[1])
        cli.wait_for(message_is("Plugin initialization complete"))
        with ExitStack() as held:
            for _ in range(200):
                connection = held.enter_context(socket.socket())
                connection.settimeout(5)
                connection.connect(("127.0.0.1", port))  # the kernel's backlog accepts it
            time.sleep(4)
        cli.send(signal.SIGTERM)
        code, stderr = cli.finish()
    assert code == 0, stderr
    # asyncio's leftover accept retries used to raise "Invalid file descriptor" at exit
    assert "Invalid file descriptor" not in stderr, stderr[-2000:]
    records = [json.loads(line) for line in cli.lines if line.startswith("{")]
    failures = [r for r in records if "accept" in str(r.get("message", ""))]
    assert len(failures) == 1, failures
    (failure,) = failures
    assert str(failure["message"]).startswith("Cannot accept connections: [Errno 24]")
    assert "backend.server.maxConnections" in str(failure["message"])
    assert "stack" not in failure
