"""Service factories: scopes, initialization, root contexts, generators, multitons, precedence."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from core_support import module, noop, plugin, startup_error

from di_backend import (
    Backend,
    BackendFeature,
    BackendModule,
    BackendPlugin,
    MultitonServiceRef,
    Scope,
    ServiceFactory,
    ServiceRef,
    core_services,
    create_backend_feature_loader,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend.errors import (
    InvalidDependencyError,
    InvalidFeatureError,
    ServiceInstantiationError,
)
from di_backend.services import PluginMetadataService

T = TypeVar("T")
MakeBackend = Callable[..., Backend]


class Box:
    """A service instance that remembers who it was made for."""

    def __init__(self, owner: str = "", *parts: object) -> None:
        self.owner = owner
        self.parts = parts


def new_box() -> Box:
    """A factory without dependencies."""
    return Box()


def counting(calls: list[str]) -> Callable[[], Box]:
    """A factory without dependencies that records ``"made"`` each time it runs."""

    def make() -> Box:
        calls.append("made")
        return Box()

    return make


def consumer(plugin_id: str, ref: ServiceRef[T], seen: list[T]) -> BackendPlugin:
    """A plugin whose init records the instance of ``ref`` it received."""

    async def init(value: T = inject(ref)) -> None:
        seen.append(value)

    return plugin(plugin_id, init)


def module_consumer(
    plugin_id: str, module_id: str, ref: ServiceRef[T], seen: list[T]
) -> BackendModule:
    """A module whose init records the instance of ``ref`` it received."""

    async def init(value: T = inject(ref)) -> None:
        seen.append(value)

    return module(plugin_id, module_id, init)


class TestScopes:
    async def test_root_service_is_created_once_per_backend(
        self, make_backend: MakeBackend
    ) -> None:
        """A root service is created once and every plugin receives the same instance."""
        ref: ServiceRef[Box] = create_service_ref(id="f.root", scope="root")
        calls: list[str] = []

        def make() -> Box:
            calls.append("root")
            return Box()

        seen: list[Box] = []
        backend = make_backend(
            create_service_factory(ref, make), consumer("a", ref, seen), consumer("b", ref, seen)
        )
        await backend.start()
        assert calls == ["root"]
        assert len(seen) == 2
        assert seen[0] is seen[1]

    async def test_each_backend_has_its_own_root_instance(self, make_backend: MakeBackend) -> None:
        """Two backends sharing one factory each create their own root instance."""
        ref: ServiceRef[Box] = create_service_ref(id="f.root2", scope="root")
        factory = create_service_factory(ref, new_box)
        seen: list[Box] = []
        await make_backend(factory, consumer("a", ref, seen)).start()
        await make_backend(factory, consumer("a", ref, seen)).start()
        assert seen[0] is not seen[1]

    async def test_plugin_service_is_created_once_per_plugin(
        self, make_backend: MakeBackend
    ) -> None:
        """A plugin service is shared inside one plugin and distinct across plugins."""
        ref: ServiceRef[Box] = create_service_ref(id="f.plugin")
        calls: list[str] = []

        def make(metadata: PluginMetadataService = inject(core_services.plugin_metadata)) -> Box:
            calls.append(metadata.get_id())
            return Box(metadata.get_id())

        seen_a: list[Box] = []
        seen_b: list[Box] = []
        backend = make_backend(
            create_service_factory(ref, make),
            consumer("a", ref, seen_a),
            module_consumer("a", "one", ref, seen_a),
            module_consumer("a", "two", ref, seen_a),
            consumer("b", ref, seen_b),
        )
        await backend.start()
        assert sorted(calls) == ["a", "b"]
        assert len(seen_a) == 3
        assert all(box is seen_a[0] for box in seen_a)
        assert seen_a[0].owner == "a"
        assert seen_b[0].owner == "b"
        assert seen_b[0] is not seen_a[0]

    async def test_root_dependencies_are_shared_across_plugins(
        self, make_backend: MakeBackend
    ) -> None:
        """Plugin instances of a service all hold the one root instance they depend on."""
        root: ServiceRef[Box] = create_service_ref(id="f.shared", scope="root")
        per_plugin: ServiceRef[Box] = create_service_ref(id="f.user")

        def make(shared: Box = inject(root)) -> Box:
            return Box("user", shared)

        seen: list[Box] = []
        backend = make_backend(
            create_service_factory(root, new_box),
            create_service_factory(per_plugin, make),
            *(consumer(p, per_plugin, seen) for p in ["a", "b", "c"]),
        )
        await backend.start()
        assert len({id(box) for box in seen}) == 3
        assert len({id(box.parts[0]) for box in seen}) == 1

    async def test_plugin_metadata_names_the_plugin(self, make_backend: MakeBackend) -> None:
        """``core.pluginMetadata`` is synthesized per plugin and reports its id."""
        seen: list[PluginMetadataService] = []
        backend = make_backend(
            consumer("a", core_services.plugin_metadata, seen),
            consumer("b", core_services.plugin_metadata, seen),
        )
        await backend.start()
        assert sorted(m.get_id() for m in seen) == ["a", "b"]


class TestInitialization:
    @pytest.mark.parametrize(
        ("scope", "expected"), [("root", "always"), ("plugin", "lazy")], ids=["root", "plugin"]
    )
    def test_default_initialization_follows_the_scope(self, scope: str, expected: str) -> None:
        """Root factories default to ``always``, plugin factories to ``lazy``."""
        ref: ServiceRef[Box] = create_service_ref(id=f"f.init.{scope}", scope=Scope(scope))
        assert create_service_factory(ref, new_box).initialization == expected

    def test_initialization_is_validated(self) -> None:
        """An ``initialization`` other than ``always``/``lazy`` is rejected."""
        ref: ServiceRef[Box] = create_service_ref(id="f.init.bad")
        bad: Any = "eager"
        with pytest.raises(InvalidFeatureError, match="Invalid initialization 'eager'"):
            create_service_factory(ref, new_box, initialization=bad)

    async def test_root_service_is_created_at_start_even_if_unused(
        self, make_backend: MakeBackend
    ) -> None:
        """A root factory (default ``always``) runs at start though nothing depends on it."""
        ref: ServiceRef[Box] = create_service_ref(id="f.eager", scope="root")
        calls: list[str] = []
        backend = make_backend(create_service_factory(ref, counting(calls)), plugin("p", noop))
        await backend.start()
        assert calls == ["made"]

    async def test_eager_services_are_created_before_inits(self, make_backend: MakeBackend) -> None:
        """Eager root services exist before any init; eager plugin ones before its modules."""
        root: ServiceRef[Box] = create_service_ref(id="f.eager.root", scope="root")
        per_plugin: ServiceRef[Box] = create_service_ref(id="f.eager.plugin")
        events: list[str] = []

        def make_root() -> Box:
            events.append("root service")
            return Box()

        def make_plugin(meta: PluginMetadataService = inject(core_services.plugin_metadata)) -> Box:
            events.append(f"plugin service {meta.get_id()}")
            return Box()

        backend = make_backend(
            create_service_factory(root, make_root),
            create_service_factory(per_plugin, make_plugin, initialization="always"),
            module("p", "m", lambda: events.append("module init")),
            plugin("p", lambda: events.append("plugin init")),
        )
        await backend.start()
        assert events == ["root service", "plugin service p", "module init", "plugin init"]

    async def test_lazy_root_service_is_not_created_unless_used(
        self, make_backend: MakeBackend
    ) -> None:
        """A root factory with ``initialization="lazy"`` does not run if nothing needs it."""
        ref: ServiceRef[Box] = create_service_ref(id="f.lazyroot", scope="root")
        calls: list[str] = []
        factory = create_service_factory(ref, counting(calls), initialization="lazy")
        await make_backend(factory, plugin("p", noop)).start()
        assert calls == []

    async def test_plugin_service_is_lazy_by_default(self, make_backend: MakeBackend) -> None:
        """A plugin factory does not run for plugins that do not use it."""
        ref: ServiceRef[Box] = create_service_ref(id="f.lazy")
        calls: list[str] = []

        def make(metadata: PluginMetadataService = inject(core_services.plugin_metadata)) -> Box:
            calls.append(metadata.get_id())
            return Box()

        seen: list[Box] = []
        backend = make_backend(
            create_service_factory(ref, make), plugin("a", noop), consumer("b", ref, seen)
        )
        await backend.start()
        assert calls == ["b"]

    async def test_always_plugin_service_is_created_for_every_plugin(
        self, make_backend: MakeBackend
    ) -> None:
        """A plugin factory with ``initialization="always"`` runs for every installed plugin."""
        ref: ServiceRef[Box] = create_service_ref(id="f.always")
        calls: list[str] = []

        def make(metadata: PluginMetadataService = inject(core_services.plugin_metadata)) -> Box:
            calls.append(metadata.get_id())
            return Box()

        backend = make_backend(
            create_service_factory(ref, make, initialization="always"),
            plugin("a", noop),
            plugin("b", noop),
            plugin("c", noop),
        )
        await backend.start()
        assert sorted(calls) == ["a", "b", "c"]

    async def test_default_factory_root_services_are_not_eager(
        self, make_backend: MakeBackend
    ) -> None:
        """A root service that exists only through its ref's default_factory is not eager."""
        calls: list[str] = []

        def default(ref: ServiceRef[Box]) -> ServiceFactory[Box]:
            return create_service_factory(ref, counting(calls))

        ref: ServiceRef[Box] = create_service_ref(
            id="f.df.eager", scope="root", default_factory=default
        )
        await make_backend(plugin("p", noop)).start()
        seen: list[Box] = []
        await make_backend(consumer("p", ref, seen)).start()
        assert calls == ["made"]
        assert len(seen) == 1


class TestRootContext:
    async def test_root_context_runs_once_and_is_passed_first(
        self, make_backend: MakeBackend
    ) -> None:
        """``create_root_context`` runs once per factory; its result is the first argument."""
        ref: ServiceRef[Box] = create_service_ref(id="f.ctx")
        contexts: list[Box] = []
        received: list[tuple[Box, str]] = []

        def context() -> Box:
            contexts.append(Box("ctx"))
            return contexts[-1]

        def make(
            ctx: Box, metadata: PluginMetadataService = inject(core_services.plugin_metadata)
        ) -> Box:
            received.append((ctx, metadata.get_id()))
            return Box(metadata.get_id())

        seen: list[Box] = []
        backend = make_backend(
            create_service_factory(ref, make, create_root_context=context),
            consumer("a", ref, seen),
            consumer("b", ref, seen),
        )
        await backend.start()
        assert len(contexts) == 1
        assert sorted(p for _, p in received) == ["a", "b"]
        assert all(ctx is contexts[0] for ctx, _ in received)

    async def test_async_root_context_receives_root_dependencies(
        self, make_backend: MakeBackend
    ) -> None:
        """An async root context declares root dependencies with ``inject`` and receives them."""
        root: ServiceRef[Box] = create_service_ref(id="f.ctx.root", scope="root")
        ref: ServiceRef[Box] = create_service_ref(id="f.ctx.user")

        async def context(shared: Box = inject(root)) -> Box:
            return Box("ctx", shared)

        def make(ctx: Box) -> Box:
            return Box("svc", ctx)

        seen: list[Box] = []
        root_seen: list[Box] = []
        backend = make_backend(
            create_service_factory(root, new_box),
            create_service_factory(ref, make, create_root_context=context),
            consumer("a", ref, seen),
            consumer("b", root, root_seen),
        )
        await backend.start()
        ctx = seen[0].parts[0]
        assert isinstance(ctx, Box)
        assert ctx.parts[0] is root_seen[0]

    def test_root_context_may_not_depend_on_plugin_services(self) -> None:
        """A root context depending on a plugin-scoped service is rejected at creation."""
        ref: ServiceRef[Box] = create_service_ref(id="f.ctx.bad")
        other: ServiceRef[Box] = create_service_ref(id="f.ctx.plugin")

        def context(dep: Box = inject(other)) -> Box:
            return dep

        with pytest.raises(
            InvalidDependencyError,
            match=re.escape("The create_root_context of service 'f.ctx.bad'"),
        ):
            create_service_factory(ref, lambda ctx: ctx, create_root_context=context)

    def test_root_services_cannot_have_a_root_context(self) -> None:
        """A root-scoped factory with ``create_root_context`` is rejected at creation."""
        ref: ServiceRef[Box] = create_service_ref(id="f.ctx.rootscope", scope="root")
        with pytest.raises(
            InvalidFeatureError,
            match=re.escape(
                "root scoped service 'f.ctx.rootscope' cannot have a create_root_context"
            ),
        ):
            create_service_factory(ref, lambda ctx: Box(), create_root_context=new_box)

    def test_factory_with_root_context_needs_a_context_parameter(self) -> None:
        """With a root context, the factory's first parameter must take it (no default)."""
        ref: ServiceRef[Box] = create_service_ref(id="f.ctx.param")
        no_context: Callable[..., Box] = new_box
        with pytest.raises(InvalidDependencyError, match="must take the root context"):
            create_service_factory(ref, no_context, create_root_context=new_box)


class TestFactoryKinds:
    @staticmethod
    def plain() -> str:
        return "plain"

    @staticmethod
    async def coroutine() -> str:
        await asyncio.sleep(0)
        return "coroutine"

    @staticmethod
    def generator() -> Iterator[str]:
        yield "generator"

    @staticmethod
    async def async_generator() -> AsyncIterator[str]:
        await asyncio.sleep(0)
        yield "async generator"

    @pytest.mark.parametrize(
        ("kind", "expected"),
        [
            ("plain", "plain"),
            ("coroutine", "coroutine"),
            ("generator", "generator"),
            ("async_generator", "async generator"),
        ],
        ids=["def", "async-def", "generator", "async-generator"],
    )
    async def test_every_kind_of_factory_produces_the_service(
        self, make_backend: MakeBackend, kind: str, expected: str
    ) -> None:
        """Plain, async, generator and async-generator factories all produce the service."""
        ref: ServiceRef[str] = create_service_ref(id=f"f.kind.{kind}")
        make: Callable[[], str | Awaitable[str] | Iterator[str] | AsyncIterator[str]] = getattr(
            self, kind
        )
        seen: list[str] = []
        await make_backend(create_service_factory(ref, make), consumer("p", ref, seen)).start()
        assert seen == [expected]

    async def test_generator_teardown_runs_at_stop_in_reverse_order(
        self, make_backend: MakeBackend
    ) -> None:
        """Code after ``yield`` runs at stop, newest service first, not before."""
        first: ServiceRef[str] = create_service_ref(id="f.gen.first", scope="root")
        second: ServiceRef[str] = create_service_ref(id="f.gen.second")
        events: list[str] = []

        def make_first() -> Iterator[str]:
            events.append("create first")
            yield "first"
            events.append("teardown first")

        async def make_second(dep: str = inject(first)) -> AsyncIterator[str]:
            events.append("create second")
            yield f"second after {dep}"
            events.append("teardown second")

        seen: list[str] = []
        backend = make_backend(
            create_service_factory(first, make_first),
            create_service_factory(second, make_second),
            consumer("p", second, seen),
        )
        await backend.start()
        assert events == ["create first", "create second"]
        assert seen == ["second after first"]
        await backend.stop()
        assert events[2:] == ["teardown second", "teardown first"]

    async def test_generator_that_does_not_yield_fails(self, make_backend: MakeBackend) -> None:
        """A generator factory that returns without yielding is a factory error."""
        ref: ServiceRef[str] = create_service_ref(id="f.gen.empty", scope="root")

        def make() -> Iterator[str]:
            yield from ()

        with pytest.raises(
            ServiceInstantiationError,
            match=re.escape("The generator factory of service 'f.gen.empty' did not yield a value"),
        ):
            await make_backend(create_service_factory(ref, make)).start()

    async def test_teardown_errors_are_logged_and_the_rest_still_run(
        self, make_backend: MakeBackend, logs: list[tuple[str, str]]
    ) -> None:
        """A failing teardown is logged; the other teardowns still run."""
        bad: ServiceRef[str] = create_service_ref(id="f.gen.bad", scope="root")
        good: ServiceRef[str] = create_service_ref(id="f.gen.good", scope="root")
        events: list[str] = []

        def make_good() -> Iterator[str]:
            yield "good"
            events.append("good torn down")

        def make_bad() -> Iterator[str]:
            yield "bad"
            raise RuntimeError("teardown boom")

        backend = make_backend(
            create_service_factory(good, make_good), create_service_factory(bad, make_bad)
        )
        await backend.start()
        await backend.stop()
        assert events == ["good torn down"]
        assert (
            "error",
            "Teardown of service 'f.gen.bad' failed, RuntimeError: teardown boom",
        ) in logs


class TestMultiton:
    async def test_multiton_collects_every_factory(self, make_backend: MakeBackend) -> None:
        """A multiton ref is injected as a list of every installed factory's instance."""
        ref: MultitonServiceRef[str] = create_service_ref(id="f.multi", multiton=True)
        seen: list[list[str]] = []

        async def init(values: list[str] = inject(ref)) -> None:
            seen.append(values)

        backend = make_backend(
            create_service_factory(ref, lambda: "one"),
            create_service_factory(ref, lambda: "two"),
            create_service_factory(ref, lambda: "three"),
            plugin("p", init),
        )
        await backend.start()
        assert seen == [["one", "two", "three"]]

    async def test_multiton_without_factories_is_an_empty_list(
        self, make_backend: MakeBackend
    ) -> None:
        """A multiton ref with no factory is injected as ``[]``, never missing."""
        ref: MultitonServiceRef[str] = create_service_ref(id="f.multi.none", multiton=True)
        seen: list[list[str]] = []

        async def init(values: list[str] = inject(ref)) -> None:
            seen.append(values)

        await make_backend(plugin("p", init)).start()
        assert seen == [[]]

    async def test_factory_depending_on_an_empty_multiton_gets_an_empty_list(
        self, make_backend: MakeBackend
    ) -> None:
        """A factory depending on a multiton ref with no factory receives ``[]``."""
        multi: MultitonServiceRef[str] = create_service_ref(id="f.multi.empty", multiton=True)
        ref: ServiceRef[str] = create_service_ref(id="f.multi.user")

        def make(values: list[str] = inject(multi)) -> str:
            return repr(values)

        seen: list[str] = []
        await make_backend(create_service_factory(ref, make), consumer("p", ref, seen)).start()
        assert seen == ["[]"]

    async def test_plugin_multiton_instances_are_per_plugin(
        self, make_backend: MakeBackend
    ) -> None:
        """Each element of a plugin-scoped multiton is created once per plugin."""
        ref: MultitonServiceRef[Box] = create_service_ref(id="f.multi.plugin", multiton=True)

        def make(metadata: PluginMetadataService = inject(core_services.plugin_metadata)) -> Box:
            return Box(metadata.get_id())

        seen: list[list[Box]] = []

        async def init(values: list[Box] = inject(ref)) -> None:
            seen.append(values)

        backend = make_backend(
            create_service_factory(ref, make),
            create_service_factory(ref, make),
            plugin("a", init),
            module("a", "m", init),
            plugin("b", init),
        )
        await backend.start()
        by_owner = {tuple(box.owner for box in values) for values in seen}
        assert by_owner == {("a", "a"), ("b", "b")}
        a_lists = [values for values in seen if values[0].owner == "a"]
        assert a_lists[0][0] is a_lists[1][0]
        assert a_lists[0][0] is not a_lists[0][1]

    async def test_multiton_factories_may_be_installed_as_defaults(
        self, make_backend: MakeBackend
    ) -> None:
        """A backend default and added factories of a multiton are all collected."""
        ref: MultitonServiceRef[str] = create_service_ref(id="f.multi.defaults", multiton=True)
        seen: list[list[str]] = []

        async def init(values: list[str] = inject(ref)) -> None:
            seen.append(values)

        backend = make_backend(
            create_service_factory(ref, lambda: "added"),
            plugin("p", init),
            defaults=[create_service_factory(ref, lambda: "default")],
        )
        await backend.start()
        assert sorted(seen[0]) == ["added", "default"]

    async def test_a_multiton_lists_defaults_then_added_then_loaded(
        self, make_backend: MakeBackend
    ) -> None:
        """As in Backstage: the backend's defaults, then added factories, then loaders'."""
        ref: MultitonServiceRef[str] = create_service_ref(id="f.multi.order", multiton=True)
        seen: list[list[str]] = []

        async def init(values: list[str] = inject(ref)) -> None:
            seen.append(values)

        def load() -> list[BackendFeature]:
            return [create_service_factory(ref, lambda: "loaded")]

        backend = make_backend(
            create_backend_feature_loader(load),  # given first, still listed last
            create_service_factory(ref, lambda: "added"),
            plugin("p", init),
            defaults=[create_service_factory(ref, lambda: "default")],
        )
        await backend.start()
        assert seen == [["default", "added", "loaded"]]


def recording_default_factory(
    loads: list[str],
) -> Callable[[ServiceRef[Box]], ServiceFactory[Box]]:
    """A ``default_factory`` that records each load and provides ``Box("default")``."""

    def default(ref: ServiceRef[Box]) -> ServiceFactory[Box]:
        loads.append(ref.id)
        return create_service_factory(ref, lambda: Box("default"))

    return default


class TestDefaultFactory:
    async def test_default_factory_is_used_when_nothing_is_installed(
        self, make_backend: MakeBackend
    ) -> None:
        """With no factory installed, the ref's default_factory provides the service once."""
        loads: list[str] = []

        default = recording_default_factory(loads)
        ref: ServiceRef[Box] = create_service_ref(id="f.df", default_factory=default)
        seen: list[Box] = []
        backend = make_backend(
            consumer("a", ref, seen), consumer("b", ref, seen), module_consumer("a", "m", ref, seen)
        )
        await backend.start()
        assert [box.owner for box in seen] == ["default"] * 3
        assert loads == ["f.df"]

    async def test_default_factory_is_not_loaded_when_a_factory_is_installed(
        self, make_backend: MakeBackend
    ) -> None:
        """An installed factory wins and the default factory loader is never called."""
        loads: list[str] = []

        default = recording_default_factory(loads)
        ref: ServiceRef[Box] = create_service_ref(id="f.df.unused", default_factory=default)
        seen: list[Box] = []
        backend = make_backend(
            create_service_factory(ref, lambda: Box("installed")), consumer("a", ref, seen)
        )
        await backend.start()
        assert seen[0].owner == "installed"
        assert loads == []

    async def test_default_factory_loader_errors_are_wrapped(
        self, make_backend: MakeBackend
    ) -> None:
        """A default factory loader that raises fails with Backstage's message."""

        def default(ref: ServiceRef[Box]) -> ServiceFactory[Box]:
            raise RuntimeError("cannot load")

        ref: ServiceRef[Box] = create_service_ref(id="f.df.err", default_factory=default)
        seen: list[Box] = []
        error = await startup_error(make_backend(consumer("a", ref, seen)))
        failure = error.result.plugins[0].failure
        assert failure is not None
        assert str(failure.error) == (
            "Failed to instantiate service 'f.df.err' because the default factory loader "
            "threw an error, RuntimeError: cannot load"
        )


PRECEDENCE_CASES = [
    (("explicit", "loader", "default", "default_factory"), "explicit"),
    (("loader", "explicit", "default", "default_factory"), "explicit"),
    (("loader", "default", "default_factory"), "loader"),
    (("default", "default_factory"), "default"),
    (("default_factory",), "default_factory"),
]


class TestPrecedence:
    @pytest.mark.parametrize(
        ("sources", "winner"),
        PRECEDENCE_CASES,
        ids=[
            "explicit-beats-all",
            "explicit-added-after-loader-still-wins",
            "loader-beats-default",
            "default-beats-default-factory",
            "default-factory-last",
        ],
    )
    async def test_explicit_beats_loader_beats_default_beats_default_factory(
        self, make_backend: MakeBackend, sources: tuple[str, ...], winner: str
    ) -> None:
        """The factory that serves a ref is the explicit one, else a loader's, else defaults."""

        def default(ref: ServiceRef[str]) -> ServiceFactory[str]:
            return create_service_factory(ref, lambda: "default_factory")

        ref: ServiceRef[str] = create_service_ref(id="f.prec", default_factory=default)
        seen: list[str] = []
        features: list[BackendFeature] = [consumer("p", ref, seen)]
        for source in sources:
            if source == "explicit":
                features.append(create_service_factory(ref, lambda: "explicit"))
            elif source == "loader":

                def load() -> list[BackendFeature]:
                    return [create_service_factory(ref, lambda: "loader")]

                features.append(create_backend_feature_loader(load))
        defaults = [create_service_factory(ref, lambda: "default")] if "default" in sources else []
        await make_backend(*features, defaults=defaults).start()
        assert seen == [winner]

    async def test_specialized_backend_defaults_are_overridden_by_add(
        self, make_backend: MakeBackend, logs: list[tuple[str, str]]
    ) -> None:
        """Adding a factory for a ref overrides the backend's default for it."""
        other_logs: list[str] = []

        class Logger:
            def error(self, message: str, meta: object = None) -> None:
                other_logs.append(message)

            warn = info = debug = error

            def child(self, **fields: object) -> Logger:
                return self

        backend = make_backend(
            create_service_factory(core_services.root_logger, Logger), plugin("p", noop)
        )
        await backend.start()
        assert logs == []
        assert other_logs


class TestConcurrency:
    @pytest.mark.parametrize("where", ["plugins", "modules"], ids=["plugins", "modules"])
    async def test_concurrent_first_requests_call_the_factory_once(
        self, make_backend: MakeBackend, where: str
    ) -> None:
        """Two inits needing a slow async service concurrently share one factory call."""
        scope = "root" if where == "plugins" else "plugin"
        ref: ServiceRef[Box] = create_service_ref(id=f"f.slow.{where}", scope=Scope(scope))
        entered = asyncio.Event()
        release = asyncio.Event()
        calls: list[str] = []

        async def make() -> Box:
            calls.append("call")
            entered.set()
            await release.wait()
            return Box()

        async def releaser() -> None:
            await entered.wait()
            for _ in range(10):
                await asyncio.sleep(0)
            release.set()

        seen: list[Box] = []
        factory = create_service_factory(ref, make, initialization="lazy")
        if where == "plugins":
            features: list[BackendFeature] = [
                consumer("a", ref, seen),
                consumer("b", ref, seen),
                plugin("c", releaser),
            ]
        else:
            features = [
                module_consumer("p", "a", ref, seen),
                module_consumer("p", "b", ref, seen),
                module("p", "c", releaser),
                plugin("p", noop),
            ]
        await asyncio.wait_for(make_backend(factory, *features).start(), timeout=10)
        assert calls == ["call"]
        assert len(seen) == 2
        assert seen[0] is seen[1]


class TestFactoryErrors:
    async def test_plugin_factory_errors_are_wrapped(self, make_backend: MakeBackend) -> None:
        """A plugin factory error fails that plugin with Backstage's wrapped message."""
        ref: ServiceRef[Box] = create_service_ref(id="f.err.plugin")

        def make() -> Box:
            raise RuntimeError("boom")

        seen: list[Box] = []
        error = await startup_error(
            make_backend(create_service_factory(ref, make), consumer("p", ref, seen))
        )
        wrapped = (
            "Failed to instantiate service 'f.err.plugin' for 'p' because the factory function "
            "threw an error, RuntimeError: boom"
        )
        assert str(error) == (
            "Backend startup failed due to the following errors:\n"
            f"  Plugin 'p' startup failed; caused by ServiceInstantiationError: {wrapped}"
        )
        failure = error.result.plugins[0].failure
        assert failure is not None
        assert isinstance(failure.error, ServiceInstantiationError)
        assert str(failure.error) == wrapped
        assert isinstance(failure.error.__cause__, RuntimeError)

    async def test_failing_dependency_nests_in_the_message(self, make_backend: MakeBackend) -> None:
        """A failing plugin dependency shows up as the cause in its dependant's message."""
        inner: ServiceRef[Box] = create_service_ref(id="f.err.inner")
        outer: ServiceRef[Box] = create_service_ref(id="f.err.outer")

        def make_inner() -> Box:
            raise ValueError("bad inner")

        def make_outer(dep: Box = inject(inner)) -> Box:
            return dep

        seen: list[Box] = []
        backend = make_backend(
            create_service_factory(inner, make_inner),
            create_service_factory(outer, make_outer),
            consumer("p", outer, seen),
        )
        error = await startup_error(backend)
        failure = error.result.plugins[0].failure
        assert failure is not None
        assert str(failure.error) == (
            "Failed to instantiate service 'f.err.outer' for 'p' because the factory function "
            "threw an error, ServiceInstantiationError: Failed to instantiate service "
            "'f.err.inner' for 'p' because the factory function threw an error, "
            "ValueError: bad inner"
        )

    async def test_root_factory_errors_are_not_wrapped(self, make_backend: MakeBackend) -> None:
        """A root factory error reaches the plugin that needed it unchanged."""
        ref: ServiceRef[Box] = create_service_ref(id="f.err.root", scope="root")
        error = RuntimeError("boom")

        def make() -> Box:
            raise error

        seen: list[Box] = []
        factory = create_service_factory(ref, make, initialization="lazy")
        startup = await startup_error(make_backend(factory, consumer("p", ref, seen)))
        failure = startup.result.plugins[0].failure
        assert failure is not None
        assert failure.error is error
        assert str(startup).endswith("Plugin 'p' startup failed; caused by RuntimeError: boom")

    async def test_eager_root_factory_error_rejects_start(self, make_backend: MakeBackend) -> None:
        """An eager root factory error rejects start directly, before any plugin runs."""
        ref: ServiceRef[Box] = create_service_ref(id="f.err.eager", scope="root")
        ran: list[str] = []

        def make() -> Box:
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match=r"^boom$"):
            await make_backend(
                create_service_factory(ref, make), plugin("p", lambda: ran.append("p"))
            ).start()
        assert ran == []

    async def test_root_context_errors_are_wrapped(self, make_backend: MakeBackend) -> None:
        """A root context error is wrapped once, naming the root context, not the factory."""
        ref: ServiceRef[Box] = create_service_ref(id="f.err.ctx")

        def context() -> Box:
            raise RuntimeError("boom")

        seen: list[Box] = []
        factory = create_service_factory(ref, lambda ctx: ctx, create_root_context=context)
        error = await startup_error(make_backend(factory, consumer("p", ref, seen)))
        failure = error.result.plugins[0].failure
        assert failure is not None
        assert str(failure.error) == (
            "Failed to instantiate service 'f.err.ctx' because its create_root_context "
            f"'{context.__module__}.{context.__qualname__}' threw an error, RuntimeError: boom"
        )
        assert isinstance(failure.error.__cause__, RuntimeError)

    async def test_a_failed_service_fails_every_later_request(
        self, make_backend: MakeBackend
    ) -> None:
        """A factory that failed is not retried: every plugin needing it fails with the error."""
        ref: ServiceRef[Box] = create_service_ref(id="f.err.cached", scope="root")
        calls: list[str] = []

        def make() -> Box:
            calls.append("call")
            raise RuntimeError("once")

        seen: list[Box] = []
        factory = create_service_factory(ref, make, initialization="lazy")
        error = await startup_error(
            make_backend(factory, consumer("a", ref, seen), consumer("b", ref, seen))
        )
        assert calls == ["call"]
        assert [p.failure is not None for p in error.result.plugins] == [True, True]
