"""Tests for the pytest plugin: fixtures under pytest-asyncio and anyio, session clean-up."""

from __future__ import annotations

import importlib.metadata

import pytest
from testing_support import events_plugin

from di_backend.testing import SyncTestBackends

pytest_plugins = ["pytester"]

# A plugin whose init and shutdown hook append lines to events.txt: "init" and
# "shutdown same-loop" (or "shutdown other-loop" when stopped in another loop).
HELPER = """
import asyncio
from pathlib import Path

from di_backend import core_services, create_backend_plugin, inject
from di_backend.services import LifecycleService

EVENTS = Path(__file__).with_name("events.txt")


def record(line: str) -> None:
    with EVENTS.open("a") as out:
        out.write(line + "\\n")


def register(env):
    def init(lifecycle: LifecycleService = inject(core_services.lifecycle)) -> None:
        loop = asyncio.get_running_loop()
        record("init")

        async def shutdown() -> None:
            same = asyncio.get_running_loop() is loop
            record("shutdown same-loop" if same else "shutdown other-loop")

        lifecycle.add_shutdown_hook(shutdown)

    env.register_init(init)


plugin = create_backend_plugin(plugin_id="recorded", register=register)
"""

ASYNCIO_INI = """
[pytest]
asyncio_mode = {mode}
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


@pytest.fixture(name="inner")
def _inner(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory with the recording plugin as ``helper.py``, in auto mode."""
    pytester.makepyfile(helper=HELPER)
    pytester.makeini(ASYNCIO_INI.format(mode="auto"))
    return pytester


def _events(pytester: pytest.Pytester) -> list[str]:
    path = pytester.path / "events.txt"
    return path.read_text().splitlines() if path.exists() else []


def test_entry_point_registers_the_plugin() -> None:
    """The ``pytest11`` entry point ``di_backend`` names the plugin module."""
    points = importlib.metadata.entry_points(group="pytest11", name="di_backend")
    assert [point.value for point in points] == ["di_backend.testing.pytest_plugin"]


class TestAsyncFixture:
    def test_stops_in_the_test_loop_even_when_the_test_fails(self, inner: pytest.Pytester) -> None:
        """``test_backend`` backends stop at teardown in the test's loop, also after a failure."""
        inner.makepyfile(
            test_inner="""
            from helper import plugin

            async def test_passes(test_backend) -> None:
                await test_backend(features=[plugin])

            async def test_fails(test_backend) -> None:
                await test_backend(features=[plugin])
                assert False, "the test fails"
            """
        )
        result = inner.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes(passed=1, failed=1)
        assert _events(inner) == ["init", "shutdown same-loop"] * 2

    def test_module_loop_scope(self, inner: pytest.Pytester) -> None:
        """A test in a module-scoped loop gets its backends stopped in that loop."""
        inner.makepyfile(
            test_inner="""
            import pytest
            from helper import plugin

            @pytest.mark.asyncio(loop_scope="module")
            async def test_module_loop(test_backend) -> None:
                await test_backend(features=[plugin])
            """
        )
        inner.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
        assert _events(inner) == ["init", "shutdown same-loop"]

    @pytest.mark.parametrize("mode", ["auto", "strict"])
    def test_anyio_tests_beside_pytest_asyncio(self, pytester: pytest.Pytester, mode: str) -> None:
        """Anyio-marked tests beside pytest-asyncio (auto or strict) stop in the test loop."""
        pytester.makepyfile(helper=HELPER)
        pytester.makeini(ASYNCIO_INI.format(mode=mode))
        pytester.makepyfile(
            test_inner="""
            import pytest
            from helper import plugin

            @pytest.fixture
            def anyio_backend() -> str:
                return "asyncio"

            @pytest.mark.anyio
            async def test_passes(test_backend) -> None:
                await test_backend(features=[plugin])

            @pytest.mark.anyio
            async def test_fails(test_backend) -> None:
                await test_backend(features=[plugin])
                assert False
            """
        )
        pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1, failed=1)
        assert _events(pytester) == ["init", "shutdown same-loop"] * 2

    def test_anyio_without_pytest_asyncio(self, pytester: pytest.Pytester) -> None:
        """With only anyio's plugin active the fixture still stops in the test's loop."""
        pytester.makepyfile(helper=HELPER)
        pytester.makeini("[pytest]\nfilterwarnings = error\n")
        pytester.makepyfile(
            test_inner="""
            import pytest
            from helper import plugin

            @pytest.fixture
            def anyio_backend() -> str:
                return "asyncio"

            @pytest.mark.anyio
            async def test_fails(test_backend) -> None:
                await test_backend(features=[plugin])
                assert False
            """
        )
        result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio")
        result.assert_outcomes(failed=1)
        assert _events(pytester) == ["init", "shutdown same-loop"]


class TestSyncFixture:
    def test_plain_test_starts_and_stops_even_when_failing(self, inner: pytest.Pytester) -> None:
        """``sync_test_backend`` serves plain tests and stops their backends at teardown."""
        inner.makepyfile(
            test_inner="""
            import asyncio
            from helper import plugin, record

            def test_fails(sync_test_backend) -> None:
                backend = sync_test_backend(features=[plugin])
                record("running " + str(sync_test_backend.run(asyncio.sleep(0, "ok"))))
                assert False
            """
        )
        inner.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1)
        assert _events(inner) == ["init", "running ok", "shutdown same-loop"]

    def test_backends_of_a_finished_loop_stop_in_a_new_one(self, inner: pytest.Pytester) -> None:
        """Backends started in a loop that has ended are still stopped at teardown."""
        inner.makepyfile(
            test_inner="""
            import asyncio
            from helper import plugin

            def test_runs_its_own_loop(test_backend) -> None:
                asyncio.run(test_backend(features=[plugin]))
            """
        )
        inner.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
        assert _events(inner) == ["init", "shutdown other-loop"]


class TestSessionCleanUp:
    def test_never_stopped_backends_are_stopped_at_session_end(
        self, inner: pytest.Pytester
    ) -> None:
        """A backend a test started and never stopped is stopped when the session ends."""
        inner.makepyfile(
            test_inner="""
            from di_backend.testing import start_test_backend
            from helper import plugin, record

            async def test_leaves_it_running() -> None:
                await start_test_backend(features=[plugin])

            def test_still_running() -> None:
                from helper import EVENTS
                record("later test sees " + ",".join(EVENTS.read_text().split()))
            """
        )
        inner.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
        # The test's loop was closed by then, so a new loop ran the shutdown hooks.
        assert _events(inner) == ["init", "later test sees init", "shutdown other-loop"]

    def test_failures_to_stop_are_reported(self, inner: pytest.Pytester) -> None:
        """A backend that fails to stop at session end is reported on the terminal."""
        inner.makepyfile(
            test_inner="""
            from di_backend.testing import mock_services, start_test_backend

            async def test_leaves_it_running() -> None:
                async def refuse() -> None:
                    raise RuntimeError("nope")

                lifecycle = mock_services.root_lifecycle.mock(shutdown=refuse)
                await start_test_backend(features=[lifecycle.factory])
            """
        )
        result = inner.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            ["*di_backend: failed to stop a test backend after the tests, RuntimeError: nope*"]
        )

    def test_a_nested_session_leaves_outer_backends_alone(self, inner: pytest.Pytester) -> None:
        """Session clean-up only stops backends that session started."""
        events: list[str] = []
        with SyncTestBackends() as start:
            start(features=[events_plugin(events)])
            inner.makepyfile(test_inner="def test_nothing() -> None:\n    pass\n")
            inner.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
            assert events == ["plugin init", "startup hook"]
        assert events[-1] == "shutdown hook"
