"""The test backends that were started and not stopped yet, process-wide.

``start_test_backend`` records each backend with the event loop it started
in; stopping it removes it. The pytest plugin stops whatever a test session
left behind when the session ends (Backstage's ``afterAll`` clean-up).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Awaitable, Callable
from typing import Final

__all__ = ["mark", "run_blocking", "stop_leftovers", "track", "untrack"]

Stop = Callable[[], Awaitable[None]]

_lock: Final = threading.Lock()
_sequence: Final = itertools.count()
# key: the backend (compared by identity); value: (sequence number, its stop function, its loop)
_running: dict[object, tuple[int, Stop, asyncio.AbstractEventLoop]] = {}


def track(key: object, stop: Stop, loop: asyncio.AbstractEventLoop) -> None:
    """Remember a started backend (by identity) until :func:`untrack`."""
    with _lock:
        _running[key] = (next(_sequence), stop, loop)


def untrack(key: object) -> None:
    """Forget a backend that was stopped."""
    with _lock:
        _running.pop(key, None)


def mark() -> int:
    """Return a marker; :func:`stop_leftovers` with it only stops backends started later."""
    with _lock:
        return next(_sequence)


def run_blocking(stop: Stop, loop: asyncio.AbstractEventLoop) -> None:
    """Await ``stop()`` in ``loop`` from synchronous code; in a new loop if ``loop`` is closed."""

    async def call() -> None:
        await stop()

    if loop.is_running():  # a loop on another thread, e.g. a SyncTestBackends still open
        asyncio.run_coroutine_threadsafe(call(), loop).result()
    elif not loop.is_closed():
        loop.run_until_complete(call())
    else:  # the test's loop is gone: stop in a new one rather than never
        fresh = asyncio.new_event_loop()
        try:
            fresh.run_until_complete(call())
        finally:
            fresh.close()


def stop_leftovers(since: int = 0) -> list[BaseException]:
    """Stop every test backend started after ``since`` and not stopped; return the errors.

    Call it from synchronous code (no running event loop in this thread).
    """
    with _lock:
        leftovers = sorted(
            (entry for entry in _running.values() if entry[0] >= since), key=lambda e: -e[0]
        )
    errors: list[BaseException] = []
    for _, stop, loop in leftovers:  # newest first, like teardowns
        try:
            run_blocking(stop, loop)
        except Exception as error:
            errors.append(error)
    return errors
