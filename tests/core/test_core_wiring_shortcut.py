"""The wiring check's shortcut ``all_installed`` never hides a problem the long check finds."""

from __future__ import annotations

import types
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from di_backend import (
    ExtensionPoint,
    MultitonServiceRef,
    ServiceFactory,
    ServiceRef,
    create_extension_point,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend._inject import Dependency
from di_backend._registry import ServiceRegistry
from di_backend.errors import ConflictError


async def _none() -> object:
    return object()


async def _one(a: object) -> object:
    return a


async def _two(a: object, b: object) -> object:
    return (a, b)


async def _three(a: object, b: object, c: object) -> object:
    return (a, b, c)


_BY_ARITY: list[Callable[..., object]] = [_none, _one, _two, _three]


_AnyRef = ServiceRef[object] | MultitonServiceRef[object]


def _factory(ref: _AnyRef, deps: list[_AnyRef]) -> ServiceFactory[object]:
    template = _BY_ARITY[len(deps)]
    assert isinstance(template, types.FunctionType)
    func = types.FunctionType(
        template.__code__,
        template.__globals__,
        template.__name__,
        tuple(inject(dep) for dep in deps),
    )
    return create_service_factory(ref, func)


_REFS: list[ServiceRef[object]] = [
    create_service_ref(id=f"shortcut.s{index}", scope="root" if index % 2 else "plugin")
    for index in range(8)
]

# For each of the 8 refs: installed or not, and up to three dependencies among all refs.
_LAYOUT = st.lists(
    st.tuples(st.booleans(), st.lists(st.integers(0, 7), max_size=3, unique=True)),
    min_size=8,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(_LAYOUT, st.lists(st.integers(0, 7), max_size=5))
def test_all_installed_implies_nothing_missing(
    layout: list[tuple[bool, list[int]]], asked: list[int]
) -> None:
    """When a shortcut says every ref is installed, the long check finds nothing missing."""
    # a root service (odd index) may depend only on root services
    factories = [
        _factory(_REFS[index], [_REFS[d] for d in deps if d != index and (d % 2 or not index % 2)])
        for index, (installed, deps) in enumerate(layout)
        if installed
    ]
    registry = ServiceRegistry(factories)
    refs = [_REFS[index] for index in asked]
    if registry.all_installed(refs):
        assert all(registry.is_available(ref) for ref in refs)
        assert registry.missing_for(refs, "todo") == []
    if registry.installed_deps_complete():  # the start's shortcut for the root services
        registry._complete = False  # missing_for's own shortcut off: the long way
        assert registry.missing_for([f.service for f in registry.all_factories()], "root") == []
        registry._complete = None
    everything_installed = all(installed for installed, _ in layout)
    if everything_installed:
        assert registry.all_installed(refs)  # the shortcut


def test_an_extension_point_or_an_uninstalled_ref_takes_the_long_way() -> None:
    """Anything but an installed service ref answers ``False``, so the full check runs."""
    registry = ServiceRegistry([_factory(_REFS[0], [])])
    assert registry.all_installed([_REFS[0]])
    assert not registry.all_installed([_REFS[0], _REFS[1]])
    point: ExtensionPoint[object] = create_extension_point(id="shortcut.ep")
    assert not registry.all_installed([point])


_POINTS: list[ExtensionPoint[object]] = [
    create_extension_point(id=f"shortcut.ep{index}") for index in range(3)
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([None, "todo", "other"]), min_size=3, max_size=3),
    st.lists(st.integers(0, 2), max_size=3),
    st.lists(st.integers(0, 3), max_size=3),
    st.booleans(),
)
def test_the_module_shortcut_agrees_with_the_long_check(
    owners: list[str | None], points: list[int], services: list[int], all_installed: bool
) -> None:
    """A module init's quick check says "wired" exactly when the long check finds no problem."""
    from di_backend._features import Registration
    from di_backend._inject import CallSpec
    from di_backend._wiring import _all_wired, _find_problem

    # services s0..s3 (s0, s2 plugin-scoped; s1, s3 root), installed unless told otherwise
    installed = range(4) if all_installed else range(2)
    registry = ServiceRegistry([_factory(_REFS[index], []) for index in installed])
    extension_points: dict[str, tuple[str, object]] = {
        point.id: (owner, object())
        for point, owner in zip(_POINTS, owners, strict=True)
        if owner is not None
    }
    deps = tuple(
        [Dependency(f"p{i}", _POINTS[index]) for i, index in enumerate(points)]
        + [Dependency(f"s{i}", _REFS[index]) for i, index in enumerate(services)]
    )
    registration = Registration("todo", "mod", [], CallSpec.from_deps(_none, deps, False))
    problem = _find_problem(registration, registry, extension_points)
    assert _all_wired(registration, registry, extension_points) is (problem is None)


def _collected_the_long_way(registry: ServiceRegistry) -> list[ServiceFactory[object]]:
    """Every installed factory through the per-id lookup, which the shortcut skips."""
    ids = dict.fromkeys([*registry._defaults, *registry._loaded, *registry._added])
    return [factory for service_id in ids for factory in registry._installed_for(service_id)]


def _registry_from(
    steps: list[tuple[str, int, list[int]]],
    refs: list[_AnyRef],
    check: Callable[[ServiceRegistry], None] | None = None,
) -> ServiceRegistry:
    """A registry from ``(table, ref index, dependency indexes)`` steps, in order.

    The defaults first (one per singleton ref), then the added and loaded factories; a
    second singleton factory the registry refuses is skipped; ``"check"`` calls ``check``.
    """

    def factory(index: int, deps: list[int]) -> ServiceFactory[object]:
        return _factory(refs[index], [refs[dep] for dep in deps])

    defaults: list[ServiceFactory[object]] = []
    for table, index, deps in steps:
        if table == "default" and (
            refs[index].multiton or all(f.service is not refs[index] for f in defaults)
        ):
            defaults.append(factory(index, deps))
    registry = ServiceRegistry(defaults)
    for table, index, deps in steps:
        try:
            if table == "added":
                registry.add(factory(index, deps))
            elif table == "loaded":
                registry.add_from_loader(factory(index, deps), "loader")
            elif table == "check" and check is not None:
                check(registry)
        except ConflictError:
            continue  # a second singleton factory: refused, as it should be
    return registry


# plugin-scoped, so that any of them may depend on any other: 0-3 singletons, 4-5 multitons
_PLUGIN_REFS: list[_AnyRef] = [
    *[create_service_ref(id=f"shortcut.cycle{index}", scope="plugin") for index in range(4)],
    *[
        create_service_ref(id=f"shortcut.cycles{index}", scope="plugin", multiton=True)
        for index in range(2)
    ],
]
# (table, ref index, dependency indexes) steps for _registry_from
_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["default", "added", "loaded", "check"]),
        st.integers(0, 5),
        st.lists(st.integers(0, 5), max_size=3, unique=True),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(_STEPS)
def test_collecting_the_factories_agrees_with_the_long_way(
    steps: list[tuple[str, int, list[int]]],
) -> None:
    """Every installed factory is collected once, in the order the long way collects them."""
    registry = _registry_from(steps, _PLUGIN_REFS)
    assert registry._collect_factories() == _collected_the_long_way(registry)


def _has_cycle_the_long_way(registry: ServiceRegistry) -> bool:
    """Whether the installed factories form a cycle, by a full search of their graph."""
    from di_backend._graph import DependencyGraph

    graph = DependencyGraph.from_iterable(
        (f.service.id, [d.id for d in f.deps], [f.service.id])
        for f in _collected_the_long_way(registry)
    )
    return bool(list(graph.detect_circular_dependencies()))


@settings(max_examples=400, deadline=None)
@given(_STEPS)
def test_the_cycle_shortcut_agrees_with_a_full_search(
    steps: list[tuple[str, int, list[int]]],
) -> None:
    """The cycle check raises exactly when a full search of the installed graph finds a cycle."""
    from di_backend.errors import CircularDependencyError

    def agrees(registry: ServiceRegistry) -> None:
        cyclic = _has_cycle_the_long_way(registry)
        try:
            registry.check_for_circular_deps()
        except CircularDependencyError:
            assert cyclic
        else:
            assert not cyclic

    agrees(_registry_from(steps, _PLUGIN_REFS, check=agrees))
