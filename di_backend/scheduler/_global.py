"""``GlobalTaskWorker``: a task that runs once per period across every process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from di_backend.errors import describe_error
from di_backend.scheduler._run import SHUTDOWN, TaskBody, iso_time, run_body
from di_backend.scheduler._schedule import TaskSettings
from di_backend.scheduler._signal import AbortController, TaskAbortedError
from di_backend.scheduler._store import TaskRow, TaskStore, error_json
from di_backend.services import AbortSignal, JsonValue, LoggerService

__all__ = ["GlobalTaskWorker", "row_state"]

_IDLE_POLL = 1.0  # seconds between polls of a task that is not due soon (or manual)
_MIN_POLL = 0.05


def row_state(row: TaskRow | None) -> dict[str, JsonValue] | None:
    """Backstage's ``taskState`` of a database row."""
    if row is None:
        return None
    error: JsonValue = None
    if row.last_run_error_json:
        with contextlib.suppress(ValueError):
            error = json.loads(row.last_run_error_json)
    if row.current_run_ticket is not None:
        return {
            "status": "running",
            "startedAt": iso_time(row.current_run_started_at),
            "timesOutAt": iso_time(row.current_run_expires_at),
            "lastRunEndedAt": iso_time(row.last_run_ended_at),
            "lastRunError": error,
        }
    return {
        "status": "idle",
        "startsAt": iso_time(row.next_run_start_at),
        "lastRunEndedAt": iso_time(row.last_run_ended_at),
        "lastRunError": error,
    }


class GlobalTaskWorker:
    """Polls the task's row, claims due runs with a ticket, runs and releases them."""

    def __init__(
        self,
        task_id: str,
        body: TaskBody,
        settings: TaskSettings,
        store: TaskStore,
        logger: LoggerService,
        *,
        signal: AbortSignal | None = None,
        check_interval: float = 1.0,
        claim_delay: float = 0.0,
    ) -> None:
        self.task_id = task_id
        self._claim_delay = claim_delay  # widens the poll-to-claim gap in race tests
        self.settings = settings
        self.status = "initial-wait"
        self._body = body
        self._store = store
        self._logger = logger
        self._outer = signal
        self._check_interval = check_interval
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._running: AbortController | None = None

    async def start(self) -> None:
        """Persist the task (Backstage's upsert) and start polling."""
        now = await self._store.now()
        moment = datetime.fromtimestamp(now, UTC)
        if self.settings.kind == "manual":
            start = next_start = None
        elif self.settings.kind == "cron":
            cron = self.settings.next_after(moment)
            start = next_start = cron.timestamp() if cron else None
        else:
            assert self.settings.period is not None
            start, next_start = now, now + self.settings.period.total_seconds()
        if self.settings.initial_delay is not None:
            start = now + self.settings.initial_delay.total_seconds()
        try:
            await self._store.upsert(
                self.task_id, json.dumps(self.settings.to_json()), start, next_start
            )
        except Exception as error:
            msg = f"Failed to persist task, {describe_error(error)}"
            raise RuntimeError(msg) from error
        self._logger.info(
            f"Registered scheduled task: {self.task_id}, {json.dumps(self.settings.to_json())}"
        )
        self._loop = asyncio.create_task(self._run_loop(), name=f"task {self.task_id}")

    def wake(self) -> None:
        """Poll now (after a trigger in this process)."""
        self._wake.set()

    def cancel_local_run(self, reason: str) -> bool:
        """Abort this process's run of the task, if it has one."""
        if self._running is None:
            return False
        self._running.abort(TaskAbortedError(reason))
        return True

    async def stop(self) -> None:
        """Abort a run in progress, release its ticket, end the loop."""
        if self._loop is None:
            return
        loop, self._loop = self._loop, None
        loop.cancel()  # a run in progress is aborted and its ticket released (_claim_and_run)
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        self._logger.info(f"Task worker finished: {self.task_id}")

    async def _sleep(self, seconds: float) -> None:
        # The event is cleared before each read of the row (in _run_loop), not here:
        # a trigger that lands while the row is being read must not be lost.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def _run_loop(self) -> None:
        if self.settings.initial_delay is not None:
            await asyncio.sleep(self.settings.initial_delay.total_seconds())
        self.status = "idle"
        attempt = 0
        while True:
            if self._outer is not None and self._outer.aborted:
                return
            try:
                self._wake.clear()
                row = await self._store.read(self.task_id)
                if row is None:
                    self._logger.info(
                        f'No longer able to find task "{self.task_id}"; aborting and assuming '
                        "that it has been unregistered or expired"
                    )
                    return
                if row.ready and await self._claim_and_run(row):
                    attempt = 0
                    continue
                attempt = 0
                await self._sleep(self._poll_delay(row))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                attempt += 1
                self._logger.warn(
                    f"Task worker failed unexpectedly, attempt number {attempt}, "
                    f"{describe_error(error)}"
                )
                await asyncio.sleep(1.0)

    @staticmethod
    def _poll_delay(row: TaskRow) -> float:
        if row.next_run_start_at is None or row.current_run_ticket is not None:
            return _IDLE_POLL
        return min(_IDLE_POLL, max(_MIN_POLL, row.next_run_start_at - row.now))

    async def _claim_and_run(self, row: TaskRow) -> bool:
        ticket = str(uuid.uuid4())
        timeout = self.settings.timeout
        if self._claim_delay:
            await asyncio.sleep(self._claim_delay)
        if not await self._store.claim(self.task_id, ticket, timeout.total_seconds()):
            return False
        controller = AbortController()
        self._running = controller
        self.status = "running"
        outer = self._outer
        lost = asyncio.ensure_future(self._watch(ticket, controller, outer))
        error: str | None
        try:
            error = await run_body(
                self._body, controller, timeout, logger=self._logger, task_id=self.task_id
            )
        except asyncio.CancelledError:
            await self._release_on_shutdown(ticket)
            raise
        finally:
            lost.cancel()
            self._running = None
            self.status = "idle"
        if (
            isinstance(controller.signal.reason, TaskAbortedError)
            and str(controller.signal.reason) == SHUTDOWN
        ):
            await self._release_on_shutdown(ticket)
            return True
        await self._release(ticket, row, error)
        return True

    async def _watch(
        self, ticket: str, controller: AbortController, outer: AbortSignal | None
    ) -> None:
        """Abort the run when its ticket is taken away (cancelled elsewhere, janitor)."""
        while not controller.signal.aborted:
            await asyncio.sleep(self._check_interval)
            if outer is not None and outer.aborted:
                controller.abort(TaskAbortedError(SHUTDOWN))
                return
            with contextlib.suppress(Exception):
                row = await self._store.read(self.task_id)
                if row is None or row.current_run_ticket != ticket:
                    self._logger.info(
                        f'Task ticket for "{self.task_id}" is no longer valid; aborting execution'
                    )
                    error = (row.last_run_error_json if row else None) or ""
                    reason = "Task was cancelled" if "cancelled" in error else "Task ticket lost"
                    controller.abort(TaskAbortedError(reason))
                    return

    async def _release(self, ticket: str, row: TaskRow, error: str | None) -> None:
        kwargs: dict[str, Any] = {"error": error}
        if self.settings.kind == "duration":
            assert self.settings.period is not None
            kwargs["period"] = self.settings.period.total_seconds()
        elif self.settings.kind == "cron":
            scheduled = row.next_run_start_at or time.time()
            after = datetime.fromtimestamp(max(time.time(), scheduled), UTC)
            cron = self.settings.next_after(after)
            kwargs["next_at"] = cron.timestamp() if cron else None
        await self._store.release(self.task_id, ticket, **kwargs)

    async def _release_on_shutdown(self, ticket: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.shield(
                self._store.release(
                    self.task_id, ticket, keep_next=True, error=error_json(SHUTDOWN)
                )
            )
