"""``mock_services.database``, ``.cache`` and ``.scheduler``: fakes, factories and mocks."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from data_support import plugin
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from di_backend import core_services, inject
from di_backend.http import NotFoundError, ResourceConflictError
from di_backend.services import CacheService, DatabaseService, SchedulerService
from di_backend.testing import MockSchedulerService, mock_services, start_test_backend


def _scheduling_plugin(runs: list[str]) -> object:
    async def init(scheduler: SchedulerService = inject(core_services.scheduler)) -> None:
        async def manual() -> None:
            runs.append("manual")

        async def plain() -> None:
            runs.append("plain")

        async def delayed() -> None:
            runs.append("delayed")

        await scheduler.schedule_task(
            id="test", fn=manual, frequency={"trigger": "manual"}, timeout={"seconds": 10}
        )
        await scheduler.schedule_task(
            id="plain", fn=plain, frequency={"minutes": 10}, timeout={"seconds": 10}
        )
        await scheduler.schedule_task(
            id="delayed",
            fn=delayed,
            frequency={"minutes": 10},
            timeout={"seconds": 10},
            initial_delay={"minutes": 1},
        )
        await asyncio.sleep(0)

    return plugin("jobs", init)


async def test_the_mock_scheduler_runs_plain_tasks_at_startup_and_manual_ones_on_trigger() -> None:
    """A plain task runs on the plugin's startup; manual and delayed ones do not."""
    runs: list[str] = []
    backend = await start_test_backend(features=[_scheduling_plugin(runs)])  # type: ignore[list-item]
    await asyncio.sleep(0.05)
    await backend.stop()
    assert runs == ["plain"]


async def test_the_mock_scheduler_factory_options_include_or_skip_startup_runs() -> None:
    """The include options add manual and delayed tasks; ``skip_task_run_on_startup`` runs none."""
    runs: list[str] = []
    factory = mock_services.scheduler.factory(
        include_manual_tasks_on_startup=True, include_initial_delayed_tasks_on_startup=True
    )
    backend = await start_test_backend(features=[_scheduling_plugin(runs), factory])  # type: ignore[list-item]
    await asyncio.sleep(0.05)
    await backend.stop()
    assert sorted(runs) == ["delayed", "manual", "plain"]
    runs.clear()
    skip = mock_services.scheduler.factory(skip_task_run_on_startup=True)
    backend = await start_test_backend(features=[_scheduling_plugin(runs), skip])  # type: ignore[list-item]
    await asyncio.sleep(0.05)
    await backend.stop()
    assert runs == []


async def test_the_mock_scheduler_triggers_waits_and_reports_backstages_messages() -> None:
    """``trigger_task`` runs a task, ``wait_for_task`` raises its error, unknown is 'not found'."""
    scheduler = mock_services.scheduler()
    assert isinstance(scheduler, MockSchedulerService)

    async def boom() -> None:
        await asyncio.sleep(0.01)
        raise RuntimeError("boom")

    await scheduler.schedule_task(
        id="test", fn=boom, frequency={"trigger": "manual"}, timeout={"seconds": 10}
    )
    waiting = asyncio.ensure_future(scheduler.wait_for_task("test"))
    await asyncio.sleep(0)
    await scheduler.trigger_task("test")
    await scheduler.trigger_task("test")  # already running: nothing happens
    with pytest.raises(RuntimeError, match="boom"):
        await waiting
    with pytest.raises(NotFoundError, match="Task other not found"):
        await scheduler.trigger_task("other")
    with pytest.raises(ResourceConflictError, match="Task test is not running"):
        await scheduler.cancel_task("test")
    assert [t.id for t in await scheduler.get_scheduled_tasks()] == ["test"]


async def test_mock_database_serves_the_given_engine_to_every_plugin() -> None:
    """``mock_services.database.factory(engine=...)`` gives plugins that engine."""
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    async with engine.connect():  # open the one in-memory connection before plugins share it
        pass
    seen: list[object] = []

    async def init(database: DatabaseService = inject(core_services.database)) -> None:
        client = await database.get_client()
        seen.append(client)
        async with client.connect() as connection:
            assert (await connection.execute(text("SELECT 41 + 1"))).scalar() == 42

    backend = await start_test_backend(
        features=[
            plugin("a", init),
            plugin("b", init),
            mock_services.database.factory(engine=engine),
        ]
    )
    await backend.stop()
    await engine.dispose()
    assert seen == [engine, engine]


async def test_recording_mocks_of_the_data_services_record_calls() -> None:
    """``.mock(get=...)`` of the cache and ``.mock()`` of the scheduler record their calls."""

    def cached(key: str) -> str:
        return f"cached {key}"

    cache = mock_services.cache.mock(get=cached)
    scheduler = mock_services.scheduler.mock()
    got: list[object] = []

    async def init(
        c: CacheService = inject(core_services.cache),
        s: SchedulerService = inject(core_services.scheduler),
    ) -> None:
        got.append(await c.get("k"))
        await s.trigger_task("t")

    backend = await start_test_backend(
        features=[plugin("p", init), cache.factory, scheduler.factory]
    )
    await backend.stop()
    assert got == ["cached k"]
    cache.get.assert_awaited_once_with("k")
    scheduler.trigger_task.assert_awaited_once_with("t")
    assert mock_services.database.mock().get_client is not None


def test_importing_di_backend_and_testing_leaves_sqlalchemy_and_redis_unloaded() -> None:
    """A backend whose plugins use no data service never imports SQLAlchemy or redis."""
    code = (
        "import sys, asyncio, di_backend, di_backend.testing\n"
        "from di_backend.testing import start_test_backend\n"
        "async def main():\n"
        "    b = await start_test_backend(features=[])\n"
        "    await b.stop()\n"
        "asyncio.run(main())\n"
        "names = ('sqlalchemy', 'redis', 'alembic', 'aiosqlite')\n"
        "print(sorted(m for m in names if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
