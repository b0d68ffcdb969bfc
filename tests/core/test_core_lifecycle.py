"""Stopping a backend and the lifecycle hooks: order, idempotence, errors, late hooks."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from core_support import Init, plugin

from di_backend import (
    Backend,
    PluginRegistrationPoints,
    ServiceRef,
    core_services,
    create_backend_plugin,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend.errors import LifecycleError
from di_backend.services import LifecycleService, RootLifecycleService

MakeBackend = Callable[..., Backend]


def hooking(
    events: list[str],
    name: str,
    captured: list[LifecycleService] | None = None,
    roots: list[RootLifecycleService] | None = None,
) -> Init:
    """An init adding every kind of hook, each recording ``<kind> <name>``."""

    def init(
        lifecycle: LifecycleService = inject(core_services.lifecycle),
        root: RootLifecycleService = inject(core_services.root_lifecycle),
    ) -> None:
        lifecycle.add_startup_hook(lambda: events.append(f"startup {name}"))
        lifecycle.add_shutdown_hook(lambda: events.append(f"shutdown {name}"))
        root.add_before_shutdown_hook(lambda: events.append(f"root before-shutdown by {name}"))
        root.add_shutdown_hook(lambda: events.append(f"root shutdown by {name}"))
        if captured is not None:
            captured.append(lifecycle)
        if roots is not None:
            roots.append(root)

    return init


class TestStop:
    async def test_stop_order(self, make_backend: MakeBackend) -> None:
        """Stop runs root before-shutdown, plugin shutdown, root shutdown hooks, then teardowns."""
        events: list[str] = []
        ref: ServiceRef[str] = create_service_ref(id="lc.gen", scope="root")

        async def make() -> AsyncIterator[str]:
            yield "value"
            events.append("teardown")

        backend = make_backend(
            create_service_factory(ref, make),
            plugin("a", hooking(events, "a")),
            plugin("b", hooking(events, "b")),
        )
        await backend.start()
        events.clear()
        await backend.stop()
        assert sorted(events[:2]) == ["root before-shutdown by a", "root before-shutdown by b"]
        assert sorted(events[2:4]) == ["shutdown a", "shutdown b"]
        assert sorted(events[4:6]) == ["root shutdown by a", "root shutdown by b"]
        assert events[6:] == ["teardown"]

    async def test_stop_is_idempotent(self, make_backend: MakeBackend) -> None:
        """Stopping twice runs the shutdown hooks once."""
        events: list[str] = []
        backend = make_backend(plugin("p", hooking(events, "p")))
        await backend.start()
        await backend.stop()
        count = len(events)
        await backend.stop()
        assert len(events) == count
        assert events.count("shutdown p") == 1

    async def test_concurrent_stops_run_once_and_wait(self, make_backend: MakeBackend) -> None:
        """Concurrent stop calls share one shutdown; none returns before it finished."""
        release = asyncio.Event()
        runs: list[str] = []

        async def slow_hook() -> None:
            runs.append("shutdown")
            await release.wait()

        def init(lifecycle: LifecycleService = inject(core_services.lifecycle)) -> None:
            lifecycle.add_shutdown_hook(slow_hook)

        backend = make_backend(plugin("p", init))
        await backend.start()
        first = asyncio.ensure_future(backend.stop())
        second = asyncio.ensure_future(backend.stop())
        for _ in range(10):
            await asyncio.sleep(0)
        assert runs == ["shutdown"]
        assert not first.done()
        assert not second.done()
        release.set()
        await asyncio.wait_for(asyncio.gather(first, second), timeout=10)
        assert runs == ["shutdown"]

    async def test_stop_before_start_is_a_no_op(self, make_backend: MakeBackend) -> None:
        """Stopping a backend that never started creates nothing and raises nothing."""
        calls: list[str] = []
        ref: ServiceRef[str] = create_service_ref(id="lc.never", scope="root")

        def make() -> str:
            calls.append("made")
            return "x"

        backend = make_backend(create_service_factory(ref, make), plugin("p", hooking(calls, "p")))
        await backend.stop()
        assert calls == []

    async def test_stop_during_start_waits_for_start(self, make_backend: MakeBackend) -> None:
        """A stop issued while start runs waits for it, then shuts down what started."""
        events: list[str] = []
        release = asyncio.Event()

        async def init(lifecycle: LifecycleService = inject(core_services.lifecycle)) -> None:
            lifecycle.add_shutdown_hook(lambda: events.append("shutdown"))
            await release.wait()
            events.append("init done")

        backend = make_backend(plugin("p", init))
        starting = asyncio.ensure_future(backend.start())
        for _ in range(10):
            await asyncio.sleep(0)
        stopping = asyncio.ensure_future(backend.stop())
        for _ in range(10):
            await asyncio.sleep(0)
        assert not stopping.done()
        release.set()
        await asyncio.wait_for(asyncio.gather(starting, stopping), timeout=10)
        assert events == ["init done", "shutdown"]

    async def test_plugins_shut_down_concurrently(self, make_backend: MakeBackend) -> None:
        """The shutdown hooks of different plugins run at the same time."""
        a_stopping, b_stopping = asyncio.Event(), asyncio.Event()

        def stopping(mine: asyncio.Event, other: asyncio.Event) -> Init:
            async def hook() -> None:
                mine.set()
                await other.wait()

            def init(lifecycle: LifecycleService = inject(core_services.lifecycle)) -> None:
                lifecycle.add_shutdown_hook(hook)

            return init

        backend = make_backend(
            plugin("a", stopping(a_stopping, b_stopping)),
            plugin("b", stopping(b_stopping, a_stopping)),
        )
        await backend.start()
        await asyncio.wait_for(backend.stop(), timeout=10)
        assert a_stopping.is_set()
        assert b_stopping.is_set()

    async def test_stop_after_an_early_failed_start(self, make_backend: MakeBackend) -> None:
        """Stop works after a start that failed before any service was created."""

        def register(env: PluginRegistrationPoints) -> None:
            raise RuntimeError("register failed")

        backend = make_backend(create_backend_plugin(plugin_id="p", register=register))
        with pytest.raises(RuntimeError, match=r"^register failed$"):
            await backend.start()
        await backend.stop()
        await backend.stop()

    async def test_async_context_manager_stops(self, make_backend: MakeBackend) -> None:
        """Leaving ``async with backend`` stops it."""
        events: list[str] = []
        async with make_backend(plugin("p", hooking(events, "p"))) as backend:
            await backend.start()
            assert "shutdown p" not in events
        assert "shutdown p" in events

    async def test_generator_teardown_runs_once(self, make_backend: MakeBackend) -> None:
        """A generator factory's teardown runs once even if stop is called again."""
        events: list[str] = []
        ref: ServiceRef[str] = create_service_ref(id="lc.gen.once", scope="root")

        def make() -> Iterator[str]:
            yield "value"
            events.append("teardown")

        backend = make_backend(create_service_factory(ref, make))
        await backend.start()
        await backend.stop()
        await backend.stop()
        assert events == ["teardown"]


class TestHookErrors:
    @pytest.mark.parametrize(
        ("kind", "logged"),
        [
            ("startup", "Plugin startup hook failed, RuntimeError: hook boom"),
            ("shutdown", "Plugin shutdown hook failed, RuntimeError: hook boom"),
            ("root startup", "Startup hook failed, RuntimeError: hook boom"),
            ("root before-shutdown", "Before shutdown hook failed, RuntimeError: hook boom"),
            ("root shutdown", "Shutdown hook failed, RuntimeError: hook boom"),
        ],
        ids=["plugin-startup", "plugin-shutdown", "root-startup", "root-before", "root-shutdown"],
    )
    @pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
    async def test_hook_errors_are_logged_not_raised(
        self,
        make_backend: MakeBackend,
        logs: list[tuple[str, str]],
        kind: str,
        logged: str,
        is_async: bool,
    ) -> None:
        """A failing hook (sync or async) is logged at error level; start and stop succeed."""
        events: list[str] = []

        def sync_hook() -> None:
            raise RuntimeError("hook boom")

        async def async_hook() -> None:
            await asyncio.sleep(0)
            raise RuntimeError("hook boom")

        hook = async_hook if is_async else sync_hook

        def init(
            lifecycle: LifecycleService = inject(core_services.lifecycle),
            root: RootLifecycleService = inject(core_services.root_lifecycle),
        ) -> None:
            adders = {
                "startup": lifecycle.add_startup_hook,
                "shutdown": lifecycle.add_shutdown_hook,
                "root startup": root.add_startup_hook,
                "root before-shutdown": root.add_before_shutdown_hook,
                "root shutdown": root.add_shutdown_hook,
            }
            adders[kind](hook)
            adders[kind](lambda: events.append("sibling ran"))

        backend = make_backend(plugin("p", init))
        await backend.start()
        await backend.stop()
        assert ("error", logged) in logs
        assert events == ["sibling ran"]


class TestLateHooks:
    async def test_plugin_startup_hook_after_startup_raises(
        self, make_backend: MakeBackend
    ) -> None:
        """Adding a plugin startup hook after its startup raises Backstage's message."""
        captured: list[LifecycleService] = []
        backend = make_backend(plugin("p", hooking([], "p", captured)))
        await backend.start()
        with pytest.raises(
            LifecycleError, match=re.escape("Attempted to add startup hook after startup")
        ):
            captured[0].add_startup_hook(lambda: None)

    async def test_plugin_shutdown_hook_after_shutdown_raises(
        self, make_backend: MakeBackend
    ) -> None:
        """Adding a plugin shutdown hook after shutdown raises Backstage's message."""
        captured: list[LifecycleService] = []
        backend = make_backend(plugin("p", hooking([], "p", captured)))
        await backend.start()
        captured[0].add_shutdown_hook(lambda: None)  # still fine before stop
        await backend.stop()
        with pytest.raises(
            LifecycleError, match=re.escape("Attempted to add shutdown hook after shutdown")
        ):
            captured[0].add_shutdown_hook(lambda: None)

    async def test_root_hooks_after_their_phase_raise(self, make_backend: MakeBackend) -> None:
        """Root startup, before-shutdown and shutdown hooks cannot be added after their phase."""
        roots: list[RootLifecycleService] = []
        backend = make_backend(plugin("p", hooking([], "p", roots=roots)))
        await backend.start()
        root = roots[0]
        with pytest.raises(
            LifecycleError, match=re.escape("Attempted to add startup hook after startup")
        ):
            root.add_startup_hook(lambda: None)
        await backend.stop()
        with pytest.raises(
            LifecycleError,
            match=re.escape("Attempt to add before shutdown hook after shutdown has started"),
        ):
            root.add_before_shutdown_hook(lambda: None)
        with pytest.raises(
            LifecycleError, match=re.escape("Attempted to add shutdown hook after shutdown")
        ):
            root.add_shutdown_hook(lambda: None)

    async def test_hooks_added_by_a_hook_during_shutdown_are_rejected(
        self, make_backend: MakeBackend, logs: list[tuple[str, str]]
    ) -> None:
        """A shutdown hook adding another shutdown hook gets the error, logged as a hook failure."""

        def init(lifecycle: LifecycleService = inject(core_services.lifecycle)) -> None:
            lifecycle.add_shutdown_hook(lambda: lifecycle.add_shutdown_hook(lambda: None))

        backend = make_backend(plugin("p", init))
        await backend.start()
        await backend.stop()
        assert (
            "error",
            "Plugin shutdown hook failed, LifecycleError: "
            "Attempted to add shutdown hook after shutdown",
        ) in logs
