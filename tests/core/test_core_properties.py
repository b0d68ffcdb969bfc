"""Property tests: random service graphs and random module / extension-point graphs."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from di_backend import (
    Backend,
    BackendFeature,
    ExtensionPoint,
    ModuleRegistrationPoints,
    PluginRegistrationPoints,
    ServiceFactory,
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
from di_backend.services import LogMeta, RootLoggerService

MAX_DEPS = 8


class QuietLogger:
    """A root logger that drops every line."""

    def error(self, message: str, meta: LogMeta = None) -> None:
        """Drop the line."""

    warn = info = debug = error

    def child(self, **fields: object) -> QuietLogger:
        """Return itself."""
        return self


def quiet_logger() -> RootLoggerService:
    """The factory of the quiet root logger."""
    return QuietLogger()


def quiet_backend(features: Sequence[BackendFeature]) -> Backend:
    """A specialized backend with a quiet logger and the given features."""
    backend = create_specialized_backend(
        default_service_factories=[create_service_factory(core_services.root_logger, quiet_logger)]
    )
    for feature in features:
        backend.add(feature)
    return backend


def taking(refs: Sequence[Any], body: Callable[[list[Any]], Any]) -> Callable[..., Any]:
    """A function injecting each of ``refs`` (at most eight) and calling ``body`` with them."""
    if not refs:
        return lambda: body([])
    count = len(refs)
    r = [*refs, *([refs[0]] * (MAX_DEPS - count))]

    def func(
        *,
        a0: object = inject(r[0]),
        a1: object = inject(r[1]),
        a2: object = inject(r[2]),
        a3: object = inject(r[3]),
        a4: object = inject(r[4]),
        a5: object = inject(r[5]),
        a6: object = inject(r[6]),
        a7: object = inject(r[7]),
    ) -> Any:
        return body([a0, a1, a2, a3, a4, a5, a6, a7][:count])

    return func


# --- random service graphs ------------------------------------------------------------


@dataclass(frozen=True)
class ServiceSpec:
    """One service of a random graph."""

    root: bool
    always: bool
    deps: tuple[int, ...]


@dataclass(frozen=True)
class ServiceGraph:
    """Services (each depending on earlier ones only) and what each plugin's init injects."""

    services: tuple[ServiceSpec, ...]
    plugins: tuple[tuple[int, ...], ...]


@st.composite
def service_graphs(draw: st.DrawFn) -> ServiceGraph:
    """Random DAGs of root and plugin services; root services depend on root services only."""
    count = draw(st.integers(min_value=1, max_value=8))
    services: list[ServiceSpec] = []
    for index in range(count):
        root = draw(st.booleans())
        allowed = [j for j in range(index) if services[j].root or not root]
        deps = draw(st.lists(st.sampled_from(allowed), unique=True, max_size=3)) if allowed else []
        services.append(ServiceSpec(root, draw(st.booleans()), tuple(deps)))
    plugins = draw(
        st.lists(
            st.lists(st.integers(min_value=0, max_value=count - 1), unique=True, max_size=4),
            min_size=1,
            max_size=4,
        )
    )
    return ServiceGraph(tuple(services), tuple(tuple(p) for p in plugins))


class Node:
    """A service instance: which service, for which plugin (``None`` for root), and its deps."""

    def __init__(self, service: int, owner: str | None, deps: list[Node]) -> None:
        self.service = service
        self.owner = owner
        self.deps = deps


def expected_instances(
    graph: ServiceGraph, plugin_ids: Sequence[str]
) -> set[tuple[int, str | None]]:
    """Every ``(service, owner)`` that start must create: what inits and eager services need."""
    created: set[tuple[int, str | None]] = set()

    def visit(service: int, plugin_id: str) -> None:
        key = (service, None if graph.services[service].root else plugin_id)
        if key not in created:
            created.add(key)
            for dep in graph.services[service].deps:
                visit(dep, plugin_id)

    for index, spec in enumerate(graph.services):
        if spec.root and spec.always:
            visit(index, "")
    for plugin_id, needs in zip(plugin_ids, graph.plugins, strict=True):
        for index, spec in enumerate(graph.services):
            if not spec.root and spec.always:
                visit(index, plugin_id)
        for service in needs:
            visit(service, plugin_id)
    return created


@settings(max_examples=50, deadline=None)
@given(service_graphs())
def test_random_service_graphs_create_each_instance_once_after_its_deps(
    graph: ServiceGraph,
) -> None:
    """Each service is created once per scope, after its dependencies, shared where it should be."""
    refs: list[ServiceRef[Node]] = [
        create_service_ref(id=f"prop.s{i}", scope="root" if spec.root else "plugin")
        for i, spec in enumerate(graph.services)
    ]
    log: list[Node] = []
    received: dict[str, list[Node]] = {}
    plugin_ids = [f"p{n}" for n in range(len(graph.plugins))]

    def factory(index: int) -> ServiceFactory[Node]:
        spec = graph.services[index]
        meta: list[Any] = [] if spec.root else [core_services.plugin_metadata]

        def body(values: list[Any]) -> Node:
            owner = None if spec.root else values[0].get_id()
            node = Node(index, owner, list(values[len(meta) :]))
            log.append(node)
            return node

        return create_service_factory(
            refs[index],
            taking([*meta, *(refs[d] for d in spec.deps)], body),
            initialization="always" if spec.always else "lazy",
        )

    def plugin(plugin_id: str, needs: tuple[int, ...]) -> BackendFeature:
        def register(env: PluginRegistrationPoints) -> None:
            env.register_init(
                taking([refs[n] for n in needs], received.setdefault(plugin_id, []).extend)
            )

        return create_backend_plugin(plugin_id=plugin_id, register=register)

    features: list[BackendFeature] = [factory(i) for i in range(len(refs))]
    features += [plugin(p, needs) for p, needs in zip(plugin_ids, graph.plugins, strict=True)]

    async def run() -> None:
        backend = quiet_backend(features)
        await backend.start()
        await backend.stop()

    asyncio.run(run())

    keys = [(node.service, node.owner) for node in log]
    assert all(count == 1 for count in Counter(keys).values())
    assert set(keys) == expected_instances(graph, plugin_ids)
    instance = {(node.service, node.owner): node for node in log}
    position = {id(node): n for n, node in enumerate(log)}
    for node in log:
        spec = graph.services[node.service]
        for dep_index, dep in zip(spec.deps, node.deps, strict=True):
            expected = instance[(dep_index, None if graph.services[dep_index].root else node.owner)]
            assert dep is expected
            assert position[id(dep)] < position[id(node)]
    for plugin_id, needs in zip(plugin_ids, graph.plugins, strict=True):
        got = received.get(plugin_id, [])
        assert len(got) == len(needs)
        for service, value in zip(needs, got, strict=True):
            owner = None if graph.services[service].root else plugin_id
            assert value is instance[(service, owner)]


# --- random module / extension-point graphs ---------------------------------------------


@dataclass(frozen=True)
class ModuleGraph:
    """Modules of one plugin: the extension points each provides and consumes, and pauses."""

    provides: tuple[tuple[str, ...], ...]
    consumes: tuple[tuple[str, ...], ...]
    pauses: tuple[int, ...]
    order: tuple[int, ...]
    plugin_points: tuple[str, ...]


@st.composite
def module_graphs(draw: st.DrawFn) -> ModuleGraph:
    """Acyclic module graphs: module ``i`` consumes only points of later modules or the plugin."""
    count = draw(st.integers(min_value=1, max_value=7))
    provides = [
        tuple(f"prop.m{i}.e{k}" for k in range(draw(st.integers(min_value=0, max_value=2))))
        for i in range(count)
    ]
    plugin_points = ("prop.plugin.e0",) if draw(st.booleans()) else ()
    consumes: list[tuple[str, ...]] = []
    for i in range(count):
        later = [point for j in range(i + 1, count) for point in provides[j]] + list(plugin_points)
        chosen = draw(st.lists(st.sampled_from(later), unique=True, max_size=4)) if later else []
        consumes.append(tuple(chosen))
    pauses = draw(st.lists(st.integers(min_value=0, max_value=4), min_size=count, max_size=count))
    order = draw(st.permutations(range(count)))
    return ModuleGraph(tuple(provides), tuple(consumes), tuple(pauses), tuple(order), plugin_points)


@settings(max_examples=50, deadline=None)
@given(module_graphs())
def test_random_module_graphs_run_consumers_before_providers(graph: ModuleGraph) -> None:
    """Each module init runs once; every consumer of a point ends before its provider starts."""
    points: Mapping[str, ExtensionPoint[object]] = {
        point: create_extension_point(id=point)
        for point in [*(p for ps in graph.provides for p in ps), *graph.plugin_points]
    }
    events: list[tuple[str, str]] = []

    def module(index: int) -> BackendFeature:
        name = f"m{index}"

        async def body(values: list[Any]) -> None:
            events.append(("start", name))
            for _ in range(graph.pauses[index]):
                await asyncio.sleep(0)
            events.append(("end", name))

        def register(env: ModuleRegistrationPoints) -> None:
            for point in graph.provides[index]:
                env.register_extension_point(points[point], object())
            env.register_init(taking([points[p] for p in graph.consumes[index]], body))

        return create_backend_module(plugin_id="prop", module_id=name, register=register)

    def register_plugin(env: PluginRegistrationPoints) -> None:
        for point in graph.plugin_points:
            env.register_extension_point(points[point], object())
        env.register_init(lambda: events.append(("start", "plugin")))

    features = [module(i) for i in graph.order]
    features.append(create_backend_plugin(plugin_id="prop", register=register_plugin))

    async def run() -> None:
        backend = quiet_backend(features)
        await backend.start()
        await backend.stop()

    asyncio.run(run())

    count = len(graph.provides)
    starts = [name for kind, name in events if kind == "start"]
    assert sorted(starts) == sorted([*(f"m{i}" for i in range(count)), "plugin"])
    assert events[-1] == ("start", "plugin")
    at = {event: n for n, event in enumerate(events)}
    owner = {point: j for j, ps in enumerate(graph.provides) for point in ps}
    for i, consumed in enumerate(graph.consumes):
        for point in consumed:
            if point in owner:
                assert at[("end", f"m{i}")] < at[("start", f"m{owner[point]}")]
