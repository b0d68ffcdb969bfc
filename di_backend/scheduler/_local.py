"""``LocalTaskWorker``: a task that runs in this process only, never overlapping itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime

from di_backend.http._errors import ResourceConflictError
from di_backend.scheduler._run import CANCELLED, TaskBody, iso_time, run_body
from di_backend.scheduler._schedule import TaskSettings
from di_backend.scheduler._signal import AbortController, TaskAbortedError
from di_backend.services import AbortSignal, JsonValue, LoggerService

__all__ = ["LocalTaskWorker"]


class LocalTaskWorker:
    """Runs, then waits for the next period, cron time or trigger; state kept in memory."""

    def __init__(
        self,
        task_id: str,
        body: TaskBody,
        settings: TaskSettings,
        logger: LoggerService,
        *,
        signal: AbortSignal | None = None,
    ) -> None:
        self.task_id = task_id
        self.settings = settings
        self.status = "initial-wait"
        self._body = body
        self._logger = logger
        self._outer = signal
        self._trigger = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._running: AbortController | None = None
        self._started_at: float | None = None
        self._starts_at: float | None = None
        self._last_ended_at: float | None = None
        self._last_error: str | None = None
        self.runs = 0

    def start(self) -> None:
        """Start the loop."""
        self._logger.info(
            f"Registered scheduled task: {self.task_id}, {json.dumps(self.settings.to_json())}"
        )
        self._loop = asyncio.create_task(self._run_loop(), name=f"local task {self.task_id}")

    def trigger(self) -> None:
        """Run now.

        Raises:
            ResourceConflictError: ``Task <id> is currently running``.
        """
        if self._running is not None:
            msg = f"Task {self.task_id} is currently running"
            raise ResourceConflictError(msg)
        self._trigger.set()

    def cancel(self) -> None:
        """Abort the run in progress.

        Raises:
            ResourceConflictError: ``Task <id> is not running``.
        """
        if self._running is None:
            msg = f"Task {self.task_id} is not running"
            raise ResourceConflictError(msg)
        self._running.abort(TaskAbortedError(CANCELLED))

    def state(self) -> dict[str, JsonValue]:
        """Backstage's ``taskState`` of a local task."""
        error: JsonValue = json.loads(self._last_error) if self._last_error else None
        if self._running is not None:
            assert self._started_at is not None
            return {
                "status": "running",
                "startedAt": iso_time(self._started_at),
                "timesOutAt": iso_time(self._started_at + self.settings.timeout.total_seconds()),
                "lastRunEndedAt": iso_time(self._last_ended_at),
                "lastRunError": error,
            }
        return {
            "status": "idle",
            "startsAt": iso_time(self._starts_at),
            "lastRunEndedAt": iso_time(self._last_ended_at),
            "lastRunError": error,
        }

    async def stop(self) -> None:
        """Abort a run in progress and end the loop."""
        if self._loop is None:
            return
        loop, self._loop = self._loop, None
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        self._logger.info(f"Task worker finished: {self.task_id}")

    async def _wait_until(self, when: float | None) -> None:
        """Sleep until ``when`` (epoch seconds; ``None``: until triggered) or a trigger."""
        self._starts_at = when
        self._trigger.clear()
        delay = None if when is None else max(0.0, when - time.time())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._trigger.wait()

    async def _run_loop(self) -> None:
        now = time.time()
        first: float | None
        if self.settings.initial_delay is not None:
            first = now + self.settings.initial_delay.total_seconds()
        elif self.settings.kind == "duration":
            first = now
        else:
            first = self._next(now)
        self.status = "idle"
        await self._wait_until(first)
        while self._outer is None or not self._outer.aborted:
            started = time.time()
            await self._run_once()
            if self.settings.kind == "duration":
                assert self.settings.period is not None
                await self._wait_until(started + self.settings.period.total_seconds())
            else:
                await self._wait_until(self._next(time.time()))

    def _next(self, moment: float) -> float | None:
        upcoming = self.settings.next_after(datetime.fromtimestamp(moment, UTC))
        return None if upcoming is None else upcoming.timestamp()

    async def _run_once(self) -> None:
        controller = AbortController()
        self._running = controller
        self.status = "running"
        self._started_at = time.time()
        self._starts_at = None
        try:
            self._last_error = await run_body(
                self._body,
                controller,
                self.settings.timeout,
                logger=self._logger,
                task_id=self.task_id,
                interrupted=self._outer.wait() if self._outer is not None else None,
            )
        finally:
            self.runs += 1
            self._running = None
            self.status = "idle"
            self._last_ended_at = time.time()
