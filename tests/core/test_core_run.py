"""``Backend.run()``: SIGTERM and SIGINT stop the backend, also while it is still starting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WAIT = 20.0  # seconds; bounds every wait on the child process

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from di_backend import create_backend_plugin, create_specialized_backend, inject
    from di_backend import core_services

    HANG = sys.argv[1] == "hang"

    def register(env):
        async def init(lifecycle=inject(core_services.lifecycle)):
            lifecycle.add_shutdown_hook(lambda: print("stopped", flush=True))
            print("init", flush=True)
            if HANG:
                await asyncio.Event().wait()  # a start that never finishes

        env.register_init(init)

    backend = create_specialized_backend()
    backend.add(create_backend_plugin(plugin_id="slow", register=register))
    backend.run()
    print("returned", flush=True)
    """
)


def _wait_for(process: subprocess.Popen[str], line: str) -> None:
    deadline = time.monotonic() + WAIT
    assert process.stdout is not None
    while time.monotonic() < deadline:
        got = process.stdout.readline()
        if got.strip() == line:
            return
        if not got and process.poll() is not None:
            break
    raise AssertionError(f"no {line!r} from the child within {WAIT}s")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("mode", ["hang", "started"])
def test_a_signal_stops_the_backend_and_run_returns(
    tmp_path: Path, sig: signal.Signals, mode: str
) -> None:
    """A signal during start cancels it; after start it stops; either way run() returns, exit 0."""
    script = tmp_path / "run_backend.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "error"}
    process = subprocess.Popen(
        [sys.executable, str(script), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _wait_for(process, "init")
        time.sleep(0.3)  # in 'started' mode the start completes meanwhile
        process.send_signal(sig)
        out, err = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=WAIT)
    assert process.returncode == 0, err
    assert "returned" in out.split()
