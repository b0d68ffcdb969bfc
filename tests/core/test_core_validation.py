"""Wiring validation: duplicates, scopes, missing dependencies and cycles, found before start."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import pytest
from core_support import Init, startup_error

from di_backend import (
    Backend,
    BackendModule,
    BackendPlugin,
    ExtensionPoint,
    ModuleRegistrationPoints,
    MultitonServiceRef,
    PluginRegistrationPoints,
    Scope,
    ServiceRef,
    core_services,
    create_backend_module,
    create_backend_plugin,
    create_extension_point,
    create_service_factory,
    create_service_ref,
    create_specialized_backend,
    inject,
)
from di_backend.errors import (
    BackendStartupError,
    BackendStateError,
    CircularDependencyError,
    ConflictError,
    InvalidDependencyError,
    MissingDependencyError,
)
from di_backend.services import PluginMetadataService

MakeBackend = Callable[..., Backend]
HEADER = "Backend startup failed due to the following errors:"

ext_a: ExtensionPoint[list[str]] = create_extension_point(id="v.ext.a")
ext_b: ExtensionPoint[list[str]] = create_extension_point(id="v.ext.b")


def plugin(
    plugin_id: str, init: Init, *, provides: ExtensionPoint[list[str]] | None = None
) -> BackendPlugin:
    """A plugin registering ``init`` and, optionally, an extension point."""

    def register(env: PluginRegistrationPoints) -> None:
        if provides is not None:
            env.register_extension_point(provides, [])
        env.register_init(init)

    return create_backend_plugin(plugin_id=plugin_id, register=register)


def module(
    plugin_id: str, module_id: str, init: Init, *, provides: ExtensionPoint[list[str]] | None = None
) -> BackendModule:
    """A module registering ``init`` and, optionally, an extension point."""

    def register(env: ModuleRegistrationPoints) -> None:
        if provides is not None:
            env.register_extension_point(provides, [])
        env.register_init(init)

    return create_backend_module(plugin_id=plugin_id, module_id=module_id, register=register)


def recorder(ran: list[str], name: str) -> Init:
    """An init without dependencies that records ``name``."""

    def init() -> None:
        ran.append(name)

    return init


def str_ref(service_id: str, scope: str = "plugin") -> ServiceRef[str]:
    """A ``ServiceRef[str]`` of the given scope."""
    ref: ServiceRef[str] = create_service_ref(id=service_id, scope=Scope(scope))
    return ref


def recording(calls: list[str], value: str) -> Callable[[], str]:
    """A factory without dependencies that records and returns ``value``."""

    def make() -> str:
        calls.append(value)
        return value

    return make


def const(value: str) -> Callable[[], str]:
    """A factory without dependencies returning ``value``."""
    return lambda: value


def needing(*refs: ServiceRef[str], ran: list[str] | None = None, name: str = "") -> Init:
    """An init depending on each ref (up to three), recording ``name`` when it runs."""
    padded = [*refs, *(refs[:1] * (3 - len(refs)))]

    def init(
        a: str = inject(padded[0]), b: str = inject(padded[1]), c: str = inject(padded[2])
    ) -> None:
        if ran is not None:
            ran.append(name)

    return init


def needing_service(
    ref: ServiceRef[str], dep: ServiceRef[str], value: str = ""
) -> Callable[..., str]:
    """A factory of ``ref`` depending on ``dep``."""

    def make(other: str = inject(dep)) -> str:
        return value or other

    return make


class TestDuplicates:
    async def test_duplicate_added_factories_fail_start(self, make_backend: MakeBackend) -> None:
        """Two added factories for one singleton ref fail start with Backstage's message."""
        ref = str_ref("v.dup")
        ran: list[str] = []
        backend = make_backend(
            create_service_factory(ref, const("a")),
            create_service_factory(ref, const("b")),
            plugin("p", recorder(ran, "p")),
        )
        with pytest.raises(
            ConflictError, match=re.escape("Duplicate service implementations provided for v.dup")
        ):
            await backend.start()
        assert ran == []

    async def test_duplicate_multiton_factories_are_fine(self, make_backend: MakeBackend) -> None:
        """Several added factories of one multiton ref are not duplicates."""
        ref: MultitonServiceRef[str] = create_service_ref(id="v.multi", multiton=True)
        backend = make_backend(
            create_service_factory(ref, const("a")), create_service_factory(ref, const("b"))
        )
        await backend.start()

    def test_duplicate_defaults_fail_at_creation(self) -> None:
        """Duplicate default factories name every duplicated id, comma-joined."""
        one, two = str_ref("v.one"), str_ref("v.two")
        with pytest.raises(
            ConflictError,
            match=re.escape("Duplicate service implementations provided for v.one, v.two"),
        ):
            create_specialized_backend(
                default_service_factories=[
                    create_service_factory(one, const("1")),
                    create_service_factory(two, const("1")),
                    create_service_factory(one, const("2")),
                    create_service_factory(two, const("2")),
                ]
            )

    async def test_duplicate_plugins_are_a_plugin_failure(self, make_backend: MakeBackend) -> None:
        """Two plugins with one id surface as a plugin failure inside BackendStartupError."""
        ran: list[str] = []
        backend = make_backend(
            plugin("p", recorder(ran, "first")),
            plugin("p", recorder(ran, "second")),
            plugin("q", recorder(ran, "q")),
        )
        error = await startup_error(backend)
        assert str(error) == (
            f"{HEADER}\n  Plugin 'p' startup failed; caused by ConflictError: "
            "Plugin 'p' is already registered"
        )
        assert "second" not in ran
        assert "q" in ran

    async def test_duplicate_modules_are_a_module_failure(self, make_backend: MakeBackend) -> None:
        """Two modules with one id for one plugin surface as a module failure."""
        ran: list[str] = []
        backend = make_backend(
            plugin("p", recorder(ran, "p")),
            module("p", "m", recorder(ran, "first")),
            module("p", "m", recorder(ran, "second")),
        )
        error = await startup_error(backend)
        assert str(error) == (
            f"{HEADER}\n  Module 'm' for plugin 'p' startup failed; caused by ConflictError: "
            "Module 'm' for plugin 'p' is already registered"
        )
        assert "second" not in ran
        assert "p" in ran

    async def test_duplicate_extension_point_fails_the_second_module(
        self, make_backend: MakeBackend
    ) -> None:
        """A second registration of an extension point id fails that module; the first wins."""
        ran: list[str] = []
        backend = make_backend(
            plugin("p", recorder(ran, "p"), provides=ext_a),
            module("p", "m", recorder(ran, "m"), provides=ext_a),
        )
        error = await startup_error(backend)
        assert str(error) == (
            f"{HEADER}\n  Module 'm' for plugin 'p' startup failed; caused by ConflictError: "
            "ExtensionPoint with ID 'v.ext.a' is already registered"
        )
        assert ran == ["p"]

    async def test_duplicate_extension_point_fails_the_second_plugin(
        self, make_backend: MakeBackend
    ) -> None:
        """A second plugin registering a taken extension point id is a plugin failure."""
        ran: list[str] = []
        backend = make_backend(
            plugin("p", recorder(ran, "p"), provides=ext_a),
            plugin("q", recorder(ran, "q"), provides=ext_a),
        )
        error = await startup_error(backend)
        assert str(error) == (
            f"{HEADER}\n  Plugin 'q' startup failed; caused by ConflictError: "
            "ExtensionPoint with ID 'v.ext.a' is already registered"
        )
        assert ran == ["p"]

    async def test_failed_registration_rolls_back_its_extension_points(
        self, make_backend: MakeBackend
    ) -> None:
        """Extension points of a registration that failed are not registered."""
        ran: list[str] = []

        def register(env: ModuleRegistrationPoints) -> None:
            env.register_extension_point(ext_b, [])
            env.register_extension_point(ext_a, [])
            env.register_init(recorder(ran, "dup"))

        def consume(ext: list[str] = inject(ext_b)) -> None:
            ran.append("consumer")

        backend = make_backend(
            plugin("p", recorder(ran, "p"), provides=ext_a),
            create_backend_module(plugin_id="p", module_id="dup", register=register),
            module("p", "consumer", consume),
        )
        error = await startup_error(backend)
        modules = {m.module_id: m for m in error.result.plugins[0].modules}
        consumer_failure = modules["consumer"].failure
        assert consumer_failure is not None
        assert str(consumer_failure.error) == (
            "Service or extension point dependencies of module 'consumer' for plugin 'p' are "
            "missing for the following ref(s): extensionPoint{v.ext.b}"
        )

    async def test_plugin_metadata_cannot_be_added(self, make_backend: MakeBackend) -> None:
        """Adding a factory for core.pluginMetadata fails start with Backstage's message."""

        def fake() -> PluginMetadataService:
            raise AssertionError("never called")

        backend = make_backend(create_service_factory(core_services.plugin_metadata, fake))
        with pytest.raises(
            ConflictError, match=re.escape("The core.pluginMetadata service cannot be overridden")
        ):
            await backend.start()

    def test_plugin_metadata_cannot_be_a_default(self) -> None:
        """A core.pluginMetadata default factory is rejected when the backend is created."""

        def fake() -> PluginMetadataService:
            raise AssertionError("never called")

        with pytest.raises(
            ConflictError, match=re.escape("The core.pluginMetadata service cannot be overridden")
        ):
            create_specialized_backend(
                default_service_factories=[
                    create_service_factory(core_services.plugin_metadata, fake)
                ]
            )


class TestScopeRules:
    def test_root_service_may_not_depend_on_plugin_service(self) -> None:
        """A root factory depending on a plugin service fails at creation (message 18)."""
        root, per_plugin = str_ref("v.root", "root"), str_ref("v.plugin")
        expected = (
            "Failed to instantiate 'root' scoped service 'v.root' because it depends on "
            "'plugin' scoped service 'v.plugin'."
        )
        with pytest.raises(InvalidDependencyError, match=re.escape(expected)):
            create_service_factory(root, needing_service(root, per_plugin))

    def test_factories_may_not_depend_on_extension_points(self) -> None:
        """A service factory depending on an extension point is rejected at creation."""

        def make(ext: list[str] = inject(ext_a)) -> str:
            return ""

        with pytest.raises(
            InvalidDependencyError, match="only module inits may depend on extension points"
        ):
            create_service_factory(str_ref("v.ep"), make)

    async def test_module_may_not_use_another_plugins_extension_point(
        self, make_backend: MakeBackend
    ) -> None:
        """A module injecting another plugin's extension point is a module failure (34)."""
        ran: list[str] = []

        def init(ext: list[str] = inject(ext_a)) -> None:
            ran.append("m")

        backend = make_backend(
            plugin("a", recorder(ran, "a"), provides=ext_a),
            plugin("b", recorder(ran, "b")),
            module("b", "m", init),
        )
        error = await startup_error(backend)
        assert str(error) == (
            f"{HEADER}\n  Module 'm' for plugin 'b' startup failed; caused by "
            "InvalidDependencyError: Illegal dependency: Module 'm' for plugin 'b' attempted to "
            "depend on extension point 'v.ext.a' for plugin 'a'. Extension points can only be "
            "used within their plugin's scope."
        )
        assert sorted(ran) == ["a", "b"]


class TestMissingDependencies:
    async def test_missing_plugin_dependencies_are_listed(self, make_backend: MakeBackend) -> None:
        """A plugin init with unprovided refs fails with every missing ref named (36)."""
        ran: list[str] = []
        backend = make_backend(
            module("p", "m", recorder(ran, "m")),
            plugin("p", needing(str_ref("v.x"), str_ref("v.y"), ran=ran, name="p")),
            plugin("q", recorder(ran, "q")),
        )
        error = await startup_error(backend)
        assert str(error) == (
            f"{HEADER}\n  Plugin 'p' startup failed; caused by MissingDependencyError: Service "
            "or extension point dependencies of plugin 'p' are missing for the following "
            "ref(s): serviceRef{v.x}, serviceRef{v.y}"
        )
        assert ran == ["q"]

    async def test_a_ref_injected_twice_is_listed_once(self, make_backend: MakeBackend) -> None:
        """A missing ref that several parameters inject is named once, as Backstage's set does."""
        backend = make_backend(plugin("p", needing(str_ref("v.twice"))))
        error = await startup_error(backend)
        assert str(error).endswith("the following ref(s): serviceRef{v.twice}")

    async def test_missing_module_dependencies_are_listed(self, make_backend: MakeBackend) -> None:
        """A module init with unprovided refs and extension points names them all (37)."""
        ran: list[str] = []

        def init(x: str = inject(str_ref("v.x")), ext: list[str] = inject(ext_b)) -> None:
            ran.append("m")

        backend = make_backend(plugin("p", recorder(ran, "p")), module("p", "m", init))
        error = await startup_error(backend)
        assert str(error) == (
            f"{HEADER}\n  Module 'm' for plugin 'p' startup failed; caused by "
            "MissingDependencyError: Service or extension point dependencies of module 'm' for "
            "plugin 'p' are missing for the following ref(s): serviceRef{v.x}, "
            "extensionPoint{v.ext.b}"
        )
        assert ran == ["p"]

    async def test_missing_dependencies_of_factories_name_who_needs_them(
        self, make_backend: MakeBackend
    ) -> None:
        """A factory's missing dependencies are named (19), those further down through the chain."""
        svc, root_svc = str_ref("v.svc"), str_ref("v.rootsvc", "root")
        calls: list[str] = []

        def make(
            a: str = inject(str_ref("v.a")),
            b: str = inject(str_ref("v.b")),
            root: str = inject(root_svc),
        ) -> str:
            calls.append("svc")
            return a

        def make_root(c: str = inject(str_ref("v.c", "root"))) -> str:
            calls.append("root")
            return c

        backend = make_backend(
            create_service_factory(svc, make),
            create_service_factory(root_svc, make_root, initialization="lazy"),
            plugin("p", needing(svc)),
        )
        error = await startup_error(backend)
        failure = error.result.plugins[0].failure
        assert failure is not None
        assert isinstance(failure.error, MissingDependencyError)
        assert str(failure.error) == (
            "Failed to instantiate service 'v.svc' for 'p' because the following dependent "
            "services are missing: 'v.a', 'v.b'\n"
            "Failed to instantiate service 'v.svc' for 'p' because the factory function threw an "
            "error, MissingDependencyError: Failed to instantiate service 'v.rootsvc' for 'root' "
            "because the following dependent services are missing: 'v.c'"
        )
        assert calls == []

    async def test_missing_dependencies_of_eager_root_services_reject_start(
        self, make_backend: MakeBackend
    ) -> None:
        """An eager root factory with a missing dependency rejects start before plugins run."""
        ran: list[str] = []
        root_svc = str_ref("v.eager", "root")
        backend = make_backend(
            create_service_factory(root_svc, needing_service(root_svc, str_ref("v.gone", "root"))),
            plugin("p", recorder(ran, "p")),
        )
        with pytest.raises(
            MissingDependencyError,
            match=re.escape(
                "Failed to instantiate service 'v.eager' for 'root' because the following "
                "dependent services are missing: 'v.gone'"
            ),
        ):
            await backend.start()
        assert ran == []

    async def test_multitons_and_default_factories_are_never_missing(
        self, make_backend: MakeBackend
    ) -> None:
        """Multiton refs and refs with a default factory do not count as missing."""
        multi: MultitonServiceRef[str] = create_service_ref(id="v.m", multiton=True)
        defaulted: ServiceRef[str] = create_service_ref(
            id="v.d", default_factory=lambda ref: create_service_factory(ref, const("d"))
        )
        seen: list[object] = []

        def init(values: list[str] = inject(multi), value: str = inject(defaulted)) -> None:
            seen.append(value)

        await make_backend(plugin("p", init)).start()
        assert seen == ["d"]


class TestCycles:
    async def test_every_cycle_is_listed_as_a_path(self, make_backend: MakeBackend) -> None:
        """Start lists every cycle among factories, also ones nothing depends on (pinned 10)."""
        a, b, c, d, e = (str_ref(f"v.{n}") for n in "abcde")
        root_a, root_b = str_ref("v.ra", "root"), str_ref("v.rb", "root")
        calls: list[str] = []
        ran: list[str] = []
        backend = make_backend(
            create_service_factory(a, needing_service(a, b)),
            create_service_factory(b, needing_service(b, a)),
            create_service_factory(c, needing_service(c, d)),
            create_service_factory(d, needing_service(d, c)),
            create_service_factory(e, needing_service(e, e)),
            create_service_factory(root_a, needing_service(root_a, root_b)),
            create_service_factory(root_b, needing_service(root_b, root_a)),
            plugin("p", recorder(ran, "p")),
            create_service_factory(str_ref("v.ok", "root"), recording(calls, "ok")),
        )
        with pytest.raises(CircularDependencyError) as caught:
            await backend.start()
        assert str(caught.value) == (
            "Circular dependencies detected:\n"
            "  'v.a' -> 'v.b' -> 'v.a'\n"
            "  'v.c' -> 'v.d' -> 'v.c'\n"
            "  'v.e' -> 'v.e'\n"
            "  'v.ra' -> 'v.rb' -> 'v.ra'"
        )
        assert caught.value.cycles == (
            ("v.a", "v.b", "v.a"),
            ("v.c", "v.d", "v.c"),
            ("v.e", "v.e"),
            ("v.ra", "v.rb", "v.ra"),
        )
        assert calls == []
        assert ran == []

    async def test_each_cycle_is_reported_once(self, make_backend: MakeBackend) -> None:
        """A cycle through three services is printed once however it is entered."""
        a, b, c = (str_ref(f"v.t{n}") for n in "abc")
        backend = make_backend(
            create_service_factory(b, needing_service(b, c)),
            create_service_factory(a, needing_service(a, b)),
            create_service_factory(c, needing_service(c, a)),
        )
        with pytest.raises(CircularDependencyError) as caught:
            await backend.start()
        assert len(caught.value.cycles) == 1
        assert str(caught.value).count("\n") == 1
        assert set(caught.value.cycles[0]) == {"v.ta", "v.tb", "v.tc"}

    async def test_cycles_among_defaults_are_found_at_start(
        self, make_backend: MakeBackend
    ) -> None:
        """A cycle among the backend's default factories is reported at start."""
        a, b = str_ref("v.da", "root"), str_ref("v.db", "root")
        backend = make_backend(
            defaults=[
                create_service_factory(a, needing_service(a, b)),
                create_service_factory(b, needing_service(b, a)),
            ]
        )
        with pytest.raises(
            CircularDependencyError,
            match=re.escape("Circular dependencies detected:\n  'v.da' -> 'v.db' -> 'v.da'"),
        ):
            await backend.start()


class TestBackendState:
    async def test_add_after_start_fails(self, make_backend: MakeBackend) -> None:
        """Adding a feature after start raises Backstage's message."""
        backend = make_backend()
        await backend.start()
        with pytest.raises(
            BackendStateError,
            match=re.escape("feature can not be added after the backend has started"),
        ):
            backend.add(plugin("late", recorder([], "late")))

    async def test_add_after_stop_fails(self, make_backend: MakeBackend) -> None:
        """Adding a feature to a stopped backend raises the same message."""
        backend = make_backend()
        await backend.start()
        await backend.stop()
        with pytest.raises(BackendStateError, match="feature can not be added after"):
            backend.add(plugin("late", recorder([], "late")))

    async def test_start_twice_fails(self, make_backend: MakeBackend) -> None:
        """A second start raises ``Backend has already started``."""
        backend = make_backend()
        await backend.start()
        with pytest.raises(BackendStateError, match=re.escape("Backend has already started")):
            await backend.start()

    async def test_concurrent_start_fails(self, make_backend: MakeBackend) -> None:
        """A start while another start runs raises ``Backend has already started``."""
        release = asyncio.Event()

        async def init() -> None:
            await release.wait()

        backend = make_backend(plugin("p", init))
        first = asyncio.ensure_future(backend.start())
        await asyncio.sleep(0)
        assert not first.done()
        with pytest.raises(BackendStateError, match=re.escape("Backend has already started")):
            await backend.start()
        release.set()
        await asyncio.wait_for(first, timeout=10)

    async def test_start_after_stop_fails(self, make_backend: MakeBackend) -> None:
        """Start after stop raises ``Backend has already stopped``."""
        backend = make_backend()
        await backend.start()
        await backend.stop()
        with pytest.raises(BackendStateError, match=re.escape("Backend has already stopped")):
            await backend.start()

    async def test_start_after_stop_before_start_fails(self, make_backend: MakeBackend) -> None:
        """A backend stopped before it started cannot start any more."""
        backend = make_backend()
        await backend.stop()
        with pytest.raises(BackendStateError, match=re.escape("Backend has already stopped")):
            await backend.start()

    async def test_start_after_failed_start_fails(self, make_backend: MakeBackend) -> None:
        """A backend whose start failed cannot be started again."""
        backend = make_backend(plugin("p", needing(str_ref("v.none"))))
        with pytest.raises(BackendStartupError):
            await backend.start()
        with pytest.raises(BackendStateError, match=re.escape("Backend has already stopped")):
            await backend.start()

    def test_add_rejects_non_features(self, make_backend: MakeBackend) -> None:
        """``Backend.add`` rejects values that are neither features nor import strings."""
        not_a_feature: Any = 42
        backend = make_backend()
        with pytest.raises(TypeError, match=re.escape("Backend.add expects a service factory")):
            backend.add(not_a_feature)
