"""``PluginScheduler``: one plugin's :class:`~di_backend.services.SchedulerService`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from di_backend._once import AsyncOnce
from di_backend.database._migrations import run_migrations
from di_backend.errors import ConflictError, describe_error
from di_backend.http._errors import NotFoundError, ResourceConflictError
from di_backend.scheduler._global import GlobalTaskWorker
from di_backend.scheduler._local import LocalTaskWorker
from di_backend.scheduler._run import CANCELLED, TaskBody
from di_backend.scheduler._schedule import parse_task_settings
from di_backend.scheduler._store import MIGRATIONS, VERSION_TABLE, TaskStore, error_json
from di_backend.services import (
    AbortSignal,
    DatabaseService,
    DurationLike,
    Frequency,
    LoggerService,
    SchedulerService,
    TaskDescriptor,
    TaskFunction,
    TaskScheduleDefinition,
    TaskScope,
)

if TYPE_CHECKING:
    from di_backend.scheduler._store import TaskRow

__all__ = ["PluginScheduler", "ScheduledTaskRunner"]


class ScheduledTaskRunner:
    """A :class:`~di_backend.services.TaskRunner`: ``schedule_task`` with a fixed schedule."""

    __slots__ = ("_schedule", "_scheduler")

    def __init__(self, scheduler: SchedulerService, schedule: TaskScheduleDefinition) -> None:
        self._scheduler = scheduler
        self._schedule = schedule

    async def run(self, *, id: str, fn: TaskFunction, signal: AbortSignal | None = None) -> None:
        """Schedule ``fn`` as ``id`` with this runner's schedule."""
        schedule = self._schedule
        await self._scheduler.schedule_task(
            id=id,
            fn=fn,
            frequency=schedule.frequency,
            timeout=schedule.timeout,
            initial_delay=schedule.initial_delay,
            scope=schedule.scope,
            signal=signal,
        )


class PluginScheduler(SchedulerService):
    """Global tasks on the plugin's database (ticket lock), local tasks in memory.

    The database is opened (and the task table migrated) when the first
    global task is scheduled, or the task list is asked for.

    ``claim_delay`` (tests only) waits between seeing a run due and claiming
    it, which widens the window of the double-run race that the claim's
    due-time re-check closes.
    """

    def __init__(
        self,
        plugin_id: str,
        database: DatabaseService,
        logger: LoggerService,
        *,
        janitor_interval: timedelta = timedelta(minutes=1),
        check_interval: float = 1.0,
        claim_delay: float = 0.0,
    ) -> None:
        self.plugin_id = plugin_id
        self._claim_delay = claim_delay
        self._database = database
        self._logger = logger
        self._janitor_interval = janitor_interval
        self._check_interval = check_interval
        self._globals: dict[str, GlobalTaskWorker] = {}
        self._locals: dict[str, LocalTaskWorker] = {}
        self._store = AsyncOnce(self._open)
        self._janitor: asyncio.Task[None] | None = None
        self._stopped = False

    def __repr__(self) -> str:
        return f"<PluginScheduler {self.plugin_id}: {len(self._globals) + len(self._locals)} tasks>"

    async def store(self) -> TaskStore:
        """The task table (the engine is created and migrated on first use)."""
        return await self._store.get()

    async def _open(self) -> TaskStore:
        engine = await self._database.get_client()
        if not self._database.migrations.skip:
            await run_migrations(engine, MIGRATIONS, version_table=VERSION_TABLE)
        return TaskStore(engine)

    async def schedule_task(
        self,
        *,
        id: str,
        fn: TaskFunction,
        frequency: Frequency,
        timeout: DurationLike,  # noqa: ASYNC109 (a task's schedule, not this call's)
        initial_delay: DurationLike | None = None,
        scope: TaskScope = "global",
        signal: AbortSignal | None = None,
    ) -> None:
        """Register ``fn`` as task ``id`` and start it (see the protocol)."""
        settings = parse_task_settings(id, frequency, timeout, initial_delay, scope)
        if self._stopped:
            msg = f"Cannot schedule task {id} of plugin '{self.plugin_id}': the backend is stopping"
            raise ConflictError(msg)
        if id in self._globals or id in self._locals:
            msg = f"Task {id} is already scheduled in plugin '{self.plugin_id}'"
            raise ConflictError(msg)
        body = TaskBody(fn)
        if settings.scope == "local":
            worker = LocalTaskWorker(id, body, settings, self._logger, signal=signal)
            self._locals[id] = worker
            worker.start()
            return
        store = await self.store()
        if store.dialect == "sqlite":
            self._logger.warn(
                f"Task {id} of plugin '{self.plugin_id}' is global, but the plugin's database "
                "is SQLite, which only this process sees: in several processes it would run "
                "once per process. Use PostgreSQL (backend.database.client 'pg') for replicas."
            )
        global_worker = GlobalTaskWorker(
            id,
            body,
            settings,
            store,
            self._logger,
            signal=signal,
            check_interval=self._check_interval,
            claim_delay=self._claim_delay,
        )
        await global_worker.start()
        self._globals[id] = global_worker
        if self._janitor is None:
            self._janitor = asyncio.create_task(
                self._janitor_loop(store), name=f"scheduler janitor {self.plugin_id}"
            )

    def create_scheduled_task_runner(self, schedule: TaskScheduleDefinition) -> ScheduledTaskRunner:
        """A runner that schedules tasks with ``schedule``."""
        parse_task_settings(
            "runner", schedule.frequency, schedule.timeout, schedule.initial_delay, schedule.scope
        )
        return ScheduledTaskRunner(self, schedule)

    async def _row(self, id: str) -> TaskRow:
        row = await (await self.store()).read(id)
        if row is None:
            msg = f"Task {id} does not exist"
            raise NotFoundError(msg)
        return row

    async def trigger_task(self, id: str) -> None:
        """Run task ``id`` now, wherever it is scheduled."""
        local = self._locals.get(id)
        if local is not None:
            local.trigger()
            return
        store = await self.store()
        if not await store.trigger(id):
            await self._row(id)  # NotFoundError when it does not exist
            msg = f"Task {id} is currently running"
            raise ResourceConflictError(msg)
        worker = self._globals.get(id)
        if worker is not None:
            worker.wake()

    async def cancel_task(self, id: str) -> None:
        """Abort the running task ``id``, wherever it runs."""
        local = self._locals.get(id)
        if local is not None:
            local.cancel()
            return
        row = await self._row(id)
        if row.current_run_ticket is None:
            msg = f"Task {id} is not running"
            raise ResourceConflictError(msg)
        worker = self._globals.get(id)
        if worker is not None and worker.cancel_local_run(CANCELLED):
            return  # the worker records the cancellation when it releases
        store = await self.store()
        await store.release(id, row.current_run_ticket, keep_next=True, error=error_json(CANCELLED))

    async def get_scheduled_tasks(self) -> list[TaskDescriptor]:
        """The tasks scheduled in this process."""
        workers: list[GlobalTaskWorker | LocalTaskWorker] = [
            *self._globals.values(),
            *self._locals.values(),
        ]
        return [
            TaskDescriptor(id=w.task_id, scope=w.settings.scope, settings=w.settings.to_json())
            for w in workers
        ]

    async def describe(self) -> list[dict[str, object]]:
        """The tasks as the HTTP API lists them (``taskState`` read from the database)."""
        from di_backend.scheduler._global import row_state

        described: list[dict[str, object]] = []
        for worker in self._globals.values():
            row = await (await self.store()).read(worker.task_id)
            described.append(self._entry(worker, row_state(row)))
        for local in self._locals.values():
            described.append(self._entry(local, local.state()))
        return described

    def _entry(
        self, worker: GlobalTaskWorker | LocalTaskWorker, state: object
    ) -> dict[str, object]:
        return {
            "taskId": worker.task_id,
            "pluginId": self.plugin_id,
            "scope": worker.settings.scope,
            "settings": worker.settings.to_json(),
            "taskState": state,
            "workerState": {"status": worker.status},
        }

    async def run_janitor_once(self) -> list[str]:
        """Free the runs whose tickets expired (a dead process's); return their ids."""
        store = await self.store()
        freed = await store.free_expired()
        if len(freed) == 1:
            self._logger.warn(f"Task timed out and was lost: {freed[0]}")
        elif freed:
            self._logger.warn(f"{len(freed)} tasks timed out and were lost")
        return freed

    async def _janitor_loop(self, store: TaskStore) -> None:
        while True:
            await asyncio.sleep(self._janitor_interval.total_seconds())
            try:
                await self.run_janitor_once()
            except Exception as error:
                self._logger.warn(
                    f"Error while performing janitorial tasks, {describe_error(error)}"
                )

    async def stop(self) -> None:
        """Stop every worker (releasing this process's tickets) and the janitor."""
        self._stopped = True
        stops: list[Callable[[], Awaitable[None]]] = [
            *(w.stop for w in self._globals.values()),
            *(w.stop for w in self._locals.values()),
        ]
        await asyncio.gather(*(stop() for stop in stops), return_exceptions=True)
        if self._janitor is not None:
            self._janitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._janitor
