"""Start order: modules, extension-point providers, plugins and startup hooks.

Modules start before their plugin, a provider after every consumer of its
extension point, plugins side by side, and startup hooks as each plugin and then
the backend finishes.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence

import pytest
from core_support import Init, plugin

from di_backend import (
    Backend,
    BackendFeature,
    BackendModule,
    ExtensionPoint,
    ModuleRegistrationPoints,
    ServiceRef,
    core_services,
    create_backend_module,
    create_extension_point,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend.errors import BackendStartupError, CircularDependencyError
from di_backend.services import LifecycleService, RootLifecycleService

MakeBackend = Callable[..., Backend]
GUARD = 10  # seconds: a deadlock fails the test instead of hanging it; nothing is timed


def rendezvous() -> tuple[Init, Init, tuple[asyncio.Event, asyncio.Event]]:
    """Two inits that each wait until the other has started, and their started events.

    Run one after the other they would wait forever, so both finishing proves they
    ran concurrently.
    """
    a_started, b_started = asyncio.Event(), asyncio.Event()

    async def init_a() -> None:
        a_started.set()
        await b_started.wait()

    async def init_b() -> None:
        b_started.set()
        await a_started.wait()

    return init_a, init_b, (a_started, b_started)


class Registry:
    """An extension point implementation collecting names."""

    def __init__(self) -> None:
        self.names: list[str] = []


ext_x: ExtensionPoint[Registry] = create_extension_point(id="o.x")
ext_y: ExtensionPoint[Registry] = create_extension_point(id="o.y")


def module(
    plugin_id: str,
    module_id: str,
    init: Init,
    provides: Sequence[tuple[ExtensionPoint[Registry], Registry]] = (),
) -> BackendModule:
    """A module registering ``provides`` and ``init``."""

    def register(env: ModuleRegistrationPoints) -> None:
        for ref, impl in provides:
            env.register_extension_point(ref, impl)
        env.register_init(init)

    return create_backend_module(plugin_id=plugin_id, module_id=module_id, register=register)


def recorder(events: list[str], name: str) -> Init:
    """An async init that records ``name`` after yielding to the loop."""

    async def init() -> None:
        await asyncio.sleep(0)
        events.append(name)

    return init


async def start(backend: Backend) -> None:
    """Start ``backend``, failing instead of hanging if it deadlocks."""
    await asyncio.wait_for(backend.start(), timeout=GUARD)


class TestModuleOrder:
    async def test_modules_initialise_before_their_plugin(self, make_backend: MakeBackend) -> None:
        """Every module of a plugin finishes its init before the plugin's init starts."""
        events: list[str] = []
        await start(
            make_backend(
                plugin("p", recorder(events, "plugin")),
                module("p", "one", recorder(events, "one")),
                module("p", "two", recorder(events, "two")),
            )
        )
        assert sorted(events[:2]) == ["one", "two"]
        assert events[2:] == ["plugin"]

    async def test_the_module_graph_is_let_go_once_the_modules_ran(
        self, make_backend: MakeBackend
    ) -> None:
        """After start a plugin's plan no longer holds the graph its modules started in."""
        events: list[str] = []
        backend = make_backend(
            plugin("p", recorder(events, "plugin")),
            module("p", "one", recorder(events, "one"), provides=[(ext_x, Registry())]),
        )
        await start(backend)
        plan = backend._initializer._plan
        assert plan is not None
        assert [m.module_id for m in plan.plugins["p"].modules] == ["one"]
        assert plan.plugins["p"].module_order is None
        assert events == ["one", "plugin"]

    @pytest.mark.parametrize("seed", range(6), ids=[f"seed-{n}" for n in range(6)])
    async def test_provider_waits_for_every_consumer(
        self, make_backend: MakeBackend, seed: int
    ) -> None:
        """A module providing an extension point starts after all its consumers (#30156)."""
        rng = random.Random(seed)
        registry = Registry()
        events: list[str] = []
        names = [f"consumer{n}" for n in range(8)]

        def consumer(name: str, pauses: int) -> BackendModule:
            async def init(ext: Registry = inject(ext_x)) -> None:
                events.append(f"start {name}")
                for _ in range(pauses):
                    await asyncio.sleep(0)
                ext.names.append(name)
                events.append(f"done {name}")

            return module("p", name, init)

        async def provide() -> None:
            events.append("start provider")
            events.append(f"saw {len(registry.names)}")

        consumers = [consumer(name, rng.randint(0, 6)) for name in names]
        split = rng.randint(0, len(consumers))
        features: list[BackendFeature] = [
            *consumers[:split],
            module("p", "provider", provide, [(ext_x, registry)]),
            *consumers[split:],
            plugin("p", recorder(events, "plugin")),
        ]
        await start(make_backend(*features))
        provider_at = events.index("start provider")
        assert all(events.index(f"done {name}") < provider_at for name in names)
        assert events[provider_at + 1] == f"saw {len(names)}"
        assert sorted(registry.names) == names
        assert events[-1] == "plugin"

    async def test_provider_chains_are_ordered(self, make_backend: MakeBackend) -> None:
        """Consumers of a module that itself provides to another module run first, in a chain."""
        events: list[str] = []

        async def first(ext: Registry = inject(ext_y)) -> None:
            events.append("consumer of y")

        async def middle(ext: Registry = inject(ext_x)) -> None:
            events.append("provider of y, consumer of x")

        await start(
            make_backend(
                module("p", "last", recorder(events, "provider of x"), [(ext_x, Registry())]),
                module("p", "middle", middle, [(ext_y, Registry())]),
                module("p", "first", first),
                plugin("p", recorder(events, "plugin")),
            )
        )
        assert events == [
            "consumer of y",
            "provider of y, consumer of x",
            "provider of x",
            "plugin",
        ]

    async def test_independent_modules_start_concurrently(self, make_backend: MakeBackend) -> None:
        """Modules without an ordering between them run at the same time."""
        init_a, init_b, started = rendezvous()
        await start(
            make_backend(module("p", "a", init_a), module("p", "b", init_b), plugin("p", init_a))
        )
        assert all(event.is_set() for event in started)

    async def test_module_cycle_is_a_plugin_failure(self, make_backend: MakeBackend) -> None:
        """Modules providing each other's extension points fail their plugin (message 38)."""
        events: list[str] = []

        async def a(ext: Registry = inject(ext_y)) -> None:
            events.append("a")

        async def b(ext: Registry = inject(ext_x)) -> None:
            events.append("b")

        backend = make_backend(
            module("p", "a", a, [(ext_x, Registry())]),
            module("p", "b", b, [(ext_y, Registry())]),
            plugin("p", recorder(events, "plugin")),
            plugin("q", recorder(events, "q")),
        )
        with pytest.raises(BackendStartupError) as caught:
            await start(backend)
        message = "Circular dependency detected for modules of plugin 'p', 'a' -> 'b' -> 'a'"
        assert str(caught.value) == (
            "Backend startup failed due to the following errors:\n"
            f"  Plugin 'p' startup failed; caused by CircularDependencyError: {message}"
        )
        results = {p.plugin_id: p for p in caught.value.result.plugins}
        failure = results["p"].failure
        assert failure is not None
        assert isinstance(failure.error, CircularDependencyError)
        assert events == ["q"]

    async def test_a_service_sharing_an_extension_points_id_does_not_order_modules(
        self, make_backend: MakeBackend
    ) -> None:
        """Only extension points order modules: a service with an equal id makes no cycle."""
        events: list[str] = []
        same: ServiceRef[str] = create_service_ref(id="o.x", scope="root")  # ext_x's id

        async def a(ext: Registry = inject(ext_y)) -> None:
            events.append("a")

        async def b(value: str = inject(same)) -> None:
            events.append(f"b:{value}")

        backend = make_backend(
            create_service_factory(same, lambda: "service"),
            module("p", "a", a, [(ext_x, Registry())]),
            module("p", "b", b, [(ext_y, Registry())]),
            plugin("p", recorder(events, "plugin")),
        )
        await start(backend)
        assert events == ["a", "b:service", "plugin"]  # b provides ext_y, so it waits for a


class TestPluginOrder:
    async def test_plugins_start_concurrently(self, make_backend: MakeBackend) -> None:
        """Plugin inits overlap: each waits for the other to have started."""
        init_a, init_b, started = rendezvous()
        await start(make_backend(plugin("a", init_a), plugin("b", init_b)))
        assert all(event.is_set() for event in started)

    async def test_plugin_startup_hooks_run_when_that_plugin_is_done(
        self, make_backend: MakeBackend
    ) -> None:
        """A plugin's startup hooks run as soon as it started, while other plugins still init."""
        events: list[str] = []
        a_hook_ran = asyncio.Event()

        def init_a(lifecycle: LifecycleService = inject(core_services.lifecycle)) -> None:
            def hook() -> None:
                events.append("a startup hook")
                a_hook_ran.set()

            lifecycle.add_startup_hook(hook)
            events.append("a init")

        async def init_b() -> None:
            await a_hook_ran.wait()
            events.append("b init")

        await start(make_backend(plugin("a", init_a), plugin("b", init_b)))
        assert events == ["a init", "a startup hook", "b init"]

    async def test_plugin_startup_hooks_run_after_its_modules(
        self, make_backend: MakeBackend
    ) -> None:
        """Hooks added by a plugin's modules run after the plugin's init, not before."""
        events: list[str] = []

        def init_m(lifecycle: LifecycleService = inject(core_services.lifecycle)) -> None:
            lifecycle.add_startup_hook(lambda: events.append("module hook"))
            events.append("module init")

        await start(make_backend(module("p", "m", init_m), plugin("p", recorder(events, "plugin"))))
        assert events == ["module init", "plugin", "module hook"]

    async def test_root_startup_hooks_run_after_every_plugin(
        self, make_backend: MakeBackend
    ) -> None:
        """Root startup hooks run once every plugin, and its startup hooks, finished."""
        events: list[str] = []

        def init_a(
            root: RootLifecycleService = inject(core_services.root_lifecycle),
            lifecycle: LifecycleService = inject(core_services.lifecycle),
        ) -> None:
            root.add_startup_hook(lambda: events.append("root hook"))
            lifecycle.add_startup_hook(lambda: events.append("a hook"))
            events.append("a init")

        async def init_b(lifecycle: LifecycleService = inject(core_services.lifecycle)) -> None:
            for _ in range(5):
                await asyncio.sleep(0)
            lifecycle.add_startup_hook(lambda: events.append("b hook"))
            events.append("b init")

        await start(make_backend(plugin("a", init_a), plugin("b", init_b)))
        assert events[-1] == "root hook"
        assert sorted(events[:-1]) == ["a hook", "a init", "b hook", "b init"]
        assert events.index("a init") < events.index("a hook")
        assert events.index("b init") < events.index("b hook")

    async def test_hooks_within_a_lifecycle_run_concurrently(
        self, make_backend: MakeBackend
    ) -> None:
        """Async startup hooks of one lifecycle run at the same time."""
        first, second = asyncio.Event(), asyncio.Event()

        async def hook_one() -> None:
            first.set()
            await second.wait()

        async def hook_two() -> None:
            second.set()
            await first.wait()

        def init(root: RootLifecycleService = inject(core_services.root_lifecycle)) -> None:
            root.add_startup_hook(hook_one)
            root.add_startup_hook(hook_two)

        await start(make_backend(plugin("p", init)))
        assert first.is_set()
        assert second.is_set()
