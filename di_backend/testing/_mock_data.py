"""Fakes of the data services: database, cache and scheduler for ``mock_services``."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from di_backend._core_services import core_services
from di_backend._factories import ServiceFactory, create_service_factory
from di_backend._inject import inject
from di_backend._once import AsyncOnce
from di_backend.services import (
    AbortSignal,
    CacheService,
    DatabaseService,
    DurationLike,
    Frequency,
    LifecycleService,
    SchedulerService,
    TaskDescriptor,
    TaskFunction,
    TaskScheduleDefinition,
    TaskScope,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from di_backend.scheduler._run import TaskBody
    from di_backend.scheduler._service import ScheduledTaskRunner

__all__ = [
    "MockDatabase",
    "MockSchedulerService",
    "cache",
    "cache_factory",
    "database",
    "database_factory",
    "scheduler",
    "scheduler_factory",
]


@dataclass(frozen=True, slots=True)
class _Migrations:
    skip: bool


class MockDatabase(DatabaseService):
    """A database service over a given engine (or a fresh in-memory SQLite one)."""

    def __init__(self, engine: AsyncEngine | None = None, *, skip_migrations: bool = False) -> None:
        self._engine = AsyncOnce(lambda: self._create(engine))
        self._skip = skip_migrations

    @property
    def migrations(self) -> _Migrations:
        """``skip`` as given."""
        return _Migrations(skip=self._skip)

    async def get_client(self) -> AsyncEngine:
        """The given engine, or one in-memory SQLite engine made on the first call.

        An engine made here is the caller's to dispose (``await engine.dispose()``).
        """
        return await self._engine.get()

    @staticmethod
    async def _create(engine: AsyncEngine | None) -> AsyncEngine:
        if engine is not None:
            return engine
        from di_backend.database._manager import memory_sqlite_engine

        made = memory_sqlite_engine()
        async with made.connect():  # its one connection, before anyone shares it
            pass
        return made


def database(engine: AsyncEngine | None = None, *, skip_migrations: bool = False) -> MockDatabase:
    """A :class:`MockDatabase`."""
    return MockDatabase(engine, skip_migrations=skip_migrations)


def database_factory(
    engine: AsyncEngine | None = None, *, skip_migrations: bool = False
) -> ServiceFactory[DatabaseService]:
    """The real factory without an engine (in-memory SQLite per plugin); else that engine."""
    if engine is None and not skip_migrations:
        from di_backend.database._factories import database_factory as real

        return real
    fake = MockDatabase(engine, skip_migrations=skip_migrations)
    return create_service_factory(core_services.database, lambda: fake)


def cache() -> CacheService:
    """A cache on a fresh memory store (plugin id ``test``)."""
    from di_backend.cache._client import CacheClient
    from di_backend.cache._stores import MemoryStore

    return CacheClient(MemoryStore(), "test", None)


def cache_factory() -> ServiceFactory[CacheService]:
    """The real cache factory (memory, unless the config says otherwise)."""
    from di_backend.cache._factories import cache_factory as real

    return real


@dataclass(slots=True)
class _MockTask:
    id: str
    body: TaskBody
    scope: TaskScope
    manual: bool
    delayed: bool
    running: asyncio.Task[None] | None = None
    controller: object | None = None


class MockSchedulerService(SchedulerService):
    """An in-memory scheduler: tasks run only when triggered (or at plugin startup).

    ``trigger_task`` runs the task now (unknown: ``Task <id> not found``; already
    running: nothing happens); ``wait_for_task(id)`` waits for the next run to
    end and raises the task's error.
    """

    def __init__(self) -> None:
        self._tasks: dict[str, _MockTask] = {}
        self._done: dict[str, list[asyncio.Future[None]]] = {}

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
        """Record the task (checked like the real scheduler does)."""
        from di_backend.scheduler._run import TaskBody
        from di_backend.scheduler._schedule import parse_task_settings

        settings = parse_task_settings(id, frequency, timeout, initial_delay, scope)
        self._tasks[id] = _MockTask(
            id,
            TaskBody(fn),
            settings.scope,
            manual=settings.kind == "manual",
            delayed=settings.initial_delay is not None,
        )

    def create_scheduled_task_runner(self, schedule: TaskScheduleDefinition) -> ScheduledTaskRunner:
        """A runner that records tasks here."""
        from di_backend.scheduler._service import ScheduledTaskRunner

        return ScheduledTaskRunner(self, schedule)

    def _task(self, id: str) -> _MockTask:
        task = self._tasks.get(id)
        if task is None:
            from di_backend.http._errors import NotFoundError  # the HTTP stack loads lazily

            msg = f"Task {id} not found"
            raise NotFoundError(msg)
        return task

    async def trigger_task(self, id: str) -> None:
        """Start a run of ``id`` (Backstage's mock: nothing if it is running)."""
        task = self._task(id)
        if task.running is not None and not task.running.done():
            return
        from di_backend.scheduler._signal import AbortController

        controller = AbortController()
        task.controller = controller
        task.running = asyncio.ensure_future(task.body(controller.signal))
        task.running.add_done_callback(lambda run: self._finished(id, run))

    def _finished(self, id: str, run: asyncio.Task[None]) -> None:
        for waiter in self._done.pop(id, []):
            if waiter.done():
                continue
            if run.cancelled():
                waiter.cancel()
            elif run.exception() is not None:
                waiter.set_exception(run.exception() or RuntimeError())
            else:
                waiter.set_result(None)

    async def cancel_task(self, id: str) -> None:
        """Abort the running ``id`` (``Task <id> is not running`` when idle)."""
        from di_backend.scheduler._signal import AbortController, TaskAbortedError

        task = self._task(id)
        if task.running is None or task.running.done():
            from di_backend.http._errors import ResourceConflictError

            msg = f"Task {id} is not running"
            raise ResourceConflictError(msg)
        if isinstance(task.controller, AbortController):
            task.controller.abort(TaskAbortedError("Task was cancelled"))
        task.running.cancel()

    async def wait_for_task(self, id: str) -> None:
        """Wait for the next (or current) run of ``id`` to end; raise its error."""
        self._task(id)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._done.setdefault(id, []).append(waiter)
        await waiter

    async def get_scheduled_tasks(self) -> list[TaskDescriptor]:
        """The recorded tasks (``settings`` is ``{"version": 1}``, as Backstage's mock)."""
        return [
            TaskDescriptor(id=t.id, scope=t.scope, settings={"version": 1})
            for t in self._tasks.values()
        ]

    async def run_startup_tasks(
        self, *, include_manual: bool = False, include_initial_delayed: bool = False
    ) -> None:
        """Trigger every task a plugin startup runs."""
        for task in list(self._tasks.values()):
            if (task.manual and not include_manual) or (
                task.delayed and not include_initial_delayed
            ):
                continue
            await self.trigger_task(task.id)

    async def stop(self) -> None:
        """Cancel every run."""
        for task in self._tasks.values():
            if task.running is not None and not task.running.done():
                task.running.cancel()
                with contextlib.suppress(BaseException):
                    await task.running


def scheduler() -> MockSchedulerService:
    """A :class:`MockSchedulerService`."""
    return MockSchedulerService()


def scheduler_factory(
    *,
    skip_task_run_on_startup: bool = False,
    include_manual_tasks_on_startup: bool = False,
    include_initial_delayed_tasks_on_startup: bool = False,
) -> ServiceFactory[SchedulerService]:
    """One mock per plugin; its tasks run at the plugin's startup (unless skipped)."""

    def create(lifecycle: LifecycleService = inject(core_services.lifecycle)) -> SchedulerService:
        mock = MockSchedulerService()
        if not skip_task_run_on_startup:

            async def run_on_startup() -> None:
                await mock.run_startup_tasks(
                    include_manual=include_manual_tasks_on_startup,
                    include_initial_delayed=include_initial_delayed_tasks_on_startup,
                )

            lifecycle.add_startup_hook(run_on_startup)
        lifecycle.add_shutdown_hook(mock.stop)
        return mock

    return create_service_factory(core_services.scheduler, create)
