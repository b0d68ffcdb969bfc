"""A read function's names and refs, and what the container derives from them without copies."""

from __future__ import annotations

import types

from hypothesis import given
from hypothesis import strategies as st

from di_backend import (
    MultitonServiceRef,
    ServiceRef,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend._cells import Binding
from di_backend._inject import CallSpec, Dependency, read_dependencies
from di_backend._refs import AnyServiceRef, Scope

_ROOT: list[ServiceRef[object]] = [
    create_service_ref(id=f"spec.root{i}", scope="root") for i in range(3)
]
_PLUGIN: list[ServiceRef[object]] = [create_service_ref(id=f"spec.plugin{i}") for i in range(3)]
_ROOT_MULTI: MultitonServiceRef[object] = create_service_ref(
    id="spec.rootMulti", scope="root", multiton=True
)
_PLUGIN_MULTI: MultitonServiceRef[object] = create_service_ref(id="spec.multi", multiton=True)
_ALL: list[AnyServiceRef] = [*_ROOT, *_PLUGIN, _ROOT_MULTI, _PLUGIN_MULTI]


def _function_injecting(refs: list[AnyServiceRef]) -> types.FunctionType:
    """A function whose parameters ``p0``, ``p1``, ... inject ``refs`` in order."""
    names = [f"p{i}" for i in range(len(refs))]
    scope: dict[str, object] = {}
    exec(f"def made({', '.join(names)}):\n    return None\n", scope)
    made = scope["made"]
    assert isinstance(made, types.FunctionType)
    made.__defaults__ = tuple(inject(ref) for ref in refs)
    return made


def _reference_split(
    refs: list[AnyServiceRef], names: list[str]
) -> tuple[tuple[AnyServiceRef, ...], tuple[AnyServiceRef, ...], tuple[str, ...], tuple[bool, ...]]:
    """Root refs, plugin refs, names (root first) and multiton flags, the long way."""
    root = [(n, r) for n, r in zip(names, refs, strict=True) if r.scope is Scope.ROOT]
    plugin = [(n, r) for n, r in zip(names, refs, strict=True) if r.scope is not Scope.ROOT]
    ordered = root + plugin
    return (
        tuple(r for _, r in root),
        tuple(r for _, r in plugin),
        tuple(n for n, _ in ordered),
        tuple(r.multiton for _, r in ordered),
    )


@given(
    st.lists(st.sampled_from(_ALL), max_size=6),
    st.sampled_from(["root", "plugin"]),
)
def test_a_binding_splits_any_mix_of_refs_as_the_general_loop_does(
    refs: list[AnyServiceRef], scope: str
) -> None:
    """Whether the shortcut for root-only refs applies or not, a binding holds the same split."""
    if scope == "root" and any(ref.scope is not Scope.ROOT for ref in refs):
        refs = [ref for ref in refs if ref.scope is Scope.ROOT]
    service: AnyServiceRef = (
        create_service_ref(id="spec.service", scope="root")
        if scope == "root"
        else create_service_ref(id="spec.service")
    )
    factory = create_service_factory(service, _function_injecting(refs))
    binding = Binding(factory, context=False)
    root, plugin, names, multiton = _reference_split(refs, [f"p{i}" for i in range(len(refs))])
    assert binding.root_deps == root
    assert binding.plugin_deps == plugin
    assert binding.names == names
    assert binding.multiton == multiton
    assert binding.any_multiton is any(multiton)
    assert binding.per_plugin is (scope == "plugin")


@given(st.lists(st.sampled_from(_ALL[:3]), max_size=6))
def test_a_factory_lists_each_injected_ref_once_in_first_use_order(
    refs: list[AnyServiceRef],
) -> None:
    """A factory's deps drop a ref injected again, keep first-use order, and match its spec."""
    service: ServiceRef[object] = create_service_ref(id="spec.service", scope="root")
    factory = create_service_factory(service, _function_injecting(refs))
    assert factory.deps == tuple(dict.fromkeys(refs))
    assert factory._call.refs == tuple(refs)
    if len(set(refs)) == len(refs):
        assert factory.deps is factory._call.refs  # nothing to drop: the spec's tuple is shared


def test_a_ref_of_the_same_id_injected_twice_is_listed_once() -> None:
    """Two ref objects with one id count as one dependency of the factory."""
    again: ServiceRef[object] = create_service_ref(id="spec.root0", scope="root")
    assert again is not _ROOT[0]
    service: ServiceRef[object] = create_service_ref(id="spec.service", scope="root")
    factory = create_service_factory(service, _function_injecting([_ROOT[0], again]))
    assert factory.deps == (_ROOT[0],)


def test_deps_pair_the_names_with_the_refs_and_round_trip() -> None:
    """A spec's deps are its names and refs paired, and a spec made from them is equal."""

    def init(a: object = inject(_ROOT[0]), *, b: object = inject(_PLUGIN[1])) -> None:
        del a, b

    spec = read_dependencies(init, what="init")
    assert spec.names == ("a", "b")
    assert spec.refs == (_ROOT[0], _PLUGIN[1])
    assert spec.deps == (Dependency("a", _ROOT[0]), Dependency("b", _PLUGIN[1]))
    assert spec.deps is spec.deps  # paired once
    again = CallSpec.from_deps(init, spec.deps, False)
    assert again == spec
    assert again.names == spec.names
    assert again.refs == spec.refs
