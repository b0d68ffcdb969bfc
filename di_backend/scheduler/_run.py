"""Running one task body: its signal, its timeout, and how it ended."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import cast

from di_backend.errors import describe_error
from di_backend.scheduler._signal import AbortController, Signal, TaskAbortedError
from di_backend.scheduler._store import error_json
from di_backend.services import AbortSignal, LoggerService, TaskFunction

__all__ = ["TaskBody", "iso_time", "run_body"]

TIMED_OUT = "Task timed out"
CANCELLED = "Task was cancelled"
SHUTDOWN = "Task was aborted by shutdown"


def iso_time(epoch: float | None) -> str | None:
    """An epoch time as Backstage's ISO form (``2026-12-02T10:15:07.5Z``), or ``None``."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


class TaskBody:
    """A task function, called with the run's signal when it takes one."""

    __slots__ = ("_call", "name")

    def __init__(self, fn: TaskFunction) -> None:
        checked: object = fn  # callers without a type checker may pass anything
        if not callable(checked):
            msg = f"fn must be an async function, got {fn!r}"
            raise TypeError(msg)
        self.name = getattr(fn, "__qualname__", repr(fn))
        takes_signal = bool(inspect.signature(fn).parameters)
        if inspect.iscoroutinefunction(fn):
            if takes_signal:
                with_signal = cast("Callable[[AbortSignal], Awaitable[None]]", fn)
                self._call: Callable[[Signal], Awaitable[None]] = with_signal
            else:
                plain = cast("Callable[[], Awaitable[None]]", fn)
                self._call = lambda _signal: plain()
        else:
            sync = cast("Callable[..., object]", fn)

            async def in_thread(signal: Signal) -> None:
                # A plain function runs in a thread; it cannot be cancelled, only signalled.
                await asyncio.to_thread(sync, *((signal,) if takes_signal else ()))

            self._call = in_thread

    def __call__(self, signal: Signal) -> Awaitable[None]:
        return self._call(signal)


async def run_body(
    body: TaskBody,
    controller: AbortController,
    limit: timedelta,
    *,
    logger: LoggerService,
    task_id: str,
    interrupted: Awaitable[None] | None = None,
) -> str | None:
    """Run ``body`` until it returns, fails, times out, or ``interrupted`` completes.

    At the timeout, or on an interruption, the signal fires and the run is
    cancelled. Returns the error JSON to record, or ``None`` on success.
    """
    run = asyncio.ensure_future(body(controller.signal))
    waiters: set[asyncio.Future[None]] = {run}
    watcher = asyncio.ensure_future(interrupted) if interrupted is not None else None
    if watcher is not None:
        waiters.add(watcher)
    abort_wait = asyncio.ensure_future(controller.signal.wait())
    waiters.add(abort_wait)
    try:
        await asyncio.wait(
            waiters, timeout=limit.total_seconds(), return_when=asyncio.FIRST_COMPLETED
        )
    except asyncio.CancelledError:
        controller.abort(TaskAbortedError(SHUTDOWN))
        run.cancel()
        raise
    finally:
        for waiter in (watcher, abort_wait):
            if waiter is not None and not waiter.done():
                waiter.cancel()
    if not run.done():
        if not controller.signal.aborted:
            controller.abort(TaskAbortedError(TIMED_OUT))
        reason = controller.signal.reason
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await run
        message = str(reason) if reason is not None else TIMED_OUT
        logger.warn(f"Task {task_id} was aborted: {message}")
        return error_json(message)
    error = run.exception() if not run.cancelled() else None
    if error is None:
        return None
    logger.error(f"Task {task_id} failed; caused by {describe_error(error)}")
    return error_json(str(error), type(error).__name__)
