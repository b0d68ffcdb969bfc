"""The provider layout's shortcuts behave exactly like dependency-injector's own methods."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from dependency_injector import containers, providers

from di_backend import (
    MultitonServiceRef,
    PluginRegistrationPoints,
    ServiceFactory,
    ServiceRef,
    create_backend_plugin,
    create_service_factory,
    create_service_ref,
    create_specialized_backend,
    inject,
)
from di_backend._cells import Binding, Teardowns
from di_backend._container import ServiceCell
from di_backend._registry import ServiceRegistry


def traversed(container: containers.DynamicContainer, *kinds: type[object]) -> list[object]:
    """The providers dependency-injector's traversal finds in ``container``."""
    found: Iterator[object] = container.traverse(types=list(kinds) or None)
    return list(found)


def make_cell() -> ServiceCell:
    """A root-scoped cell for a factory without dependencies."""
    ref: ServiceRef[str] = create_service_ref(id="layout.svc", scope="root")
    binding = Binding.of(create_service_factory(ref, lambda: "made"), context=False)
    return ServiceCell(binding, Teardowns(), None)


class TestServiceCell:
    def test_is_a_provider_that_provides_itself(self) -> None:
        """A cell is a dependency-injector provider whose call returns the cell."""
        cell = make_cell()
        assert providers.is_provider(cell)
        assert cell() is cell
        assert len(cell.overridden) == 0  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]

    async def test_runs_its_factory_once(self) -> None:
        """Awaiting a cell runs the factory the first time and returns the cached value after."""
        cell = make_cell()
        assert cell.peek() is None
        assert await cell.get() == "made"
        assert cell.done
        assert await cell.get() == "made"

    def test_can_be_overridden_and_reset(self) -> None:
        """Overriding a cell makes it provide the override until the override is reset."""
        cell = make_cell()
        cell.override(providers.Object("fake"))  # pyright: ignore[reportUnknownMemberType]
        assert cell() == "fake"
        cell.reset_override()
        assert cell() is cell

    def test_lives_in_a_container_like_any_provider(self) -> None:
        """A container traverses cells it holds as providers."""
        cell = make_cell()
        container = containers.DynamicContainer()
        container.set_provider("layout.svc", cell)
        assert traversed(container) == [cell]


async def test_a_plugin_container_holds_the_cell_of_each_plugin_service() -> None:
    """A plugin's providers dict holds, per plugin-scoped ref, the cell of the value it got."""
    ref: ServiceRef[list[str]] = create_service_ref(id="layout.plugin")
    received: list[object] = []

    def register(env: PluginRegistrationPoints) -> None:
        def init(value: list[str] = inject(ref)) -> None:
            received.append(value)

        env.register_init(init)

    backend = create_specialized_backend(
        default_service_factories=[create_service_factory(ref, lambda: ["made"])]
    )
    backend.add(create_backend_plugin(plugin_id="a", register=register))
    await backend.start()
    try:
        provider = backend._initializer.registry.container._plugins["a"][ref.id]
        assert type(provider) is ServiceCell
        assert provider() is provider
        assert provider.value is received[0]
    finally:
        await backend.stop()


@pytest.mark.parametrize("calls", [1, 3])
async def test_concurrent_first_calls_share_one_run(calls: int) -> None:
    """Concurrent first awaits of a cell run its factory once and all get the same value."""
    runs: list[int] = []
    ref: ServiceRef[object] = create_service_ref(id="layout.slow", scope="root")

    async def slow() -> object:
        runs.append(1)
        await asyncio.sleep(0)
        return object()

    binding = Binding.of(create_service_factory(ref, slow), context=False)
    cell = ServiceCell(binding, Teardowns(), None)
    values = await asyncio.gather(*(cell.get() for _ in range(calls)))
    assert runs == [1]
    assert all(value is values[0] for value in values)


def _shortcut_factories(kind: str) -> tuple[list[ServiceFactory[object]], ServiceRef[str]]:
    """A plugin service over a root service, another plugin service and (by kind) more."""
    root: ServiceRef[str] = create_service_ref(id="shortcut.root", scope="root")
    many: MultitonServiceRef[str] = create_service_ref(
        id="shortcut.many", scope="root", multiton=True
    )
    first: ServiceRef[str] = create_service_ref(id="shortcut.first")
    second: ServiceRef[str] = create_service_ref(id="shortcut.second")

    def make_second(r: str = inject(root), f: str = inject(first)) -> str:
        return f"{r}+{f}"

    def with_context(ctx: str, r: str = inject(root), f: str = inject(first)) -> str:
        return f"{ctx}:{r}+{f}"

    def with_many(
        r: str = inject(root), f: str = inject(first), m: list[str] = inject(many)
    ) -> str:
        return f"{r}+{f}+{','.join(m)}"

    factories: list[ServiceFactory[object]] = [
        create_service_factory(root, lambda: "root"),
        create_service_factory(many, lambda: "m1"),
        create_service_factory(first, lambda: "first"),
    ]
    if kind == "roots":
        factories.append(create_service_factory(second, make_second))
    elif kind == "context":
        factories.append(
            create_service_factory(second, with_context, create_root_context=lambda: "ctx")
        )
    else:
        factories.append(create_service_factory(second, with_many))
    return factories, second


@pytest.mark.parametrize("kind", ["roots", "context", "multiton root"])
async def test_a_plugin_cell_is_made_as_its_template_would_make_it(kind: str) -> None:
    """Without overrides a plugin's cell gets what its template's call would give it."""
    factories, second = _shortcut_factories(kind)
    container = ServiceRegistry(factories).container
    cell = container.provide(second, "a")
    assert type(cell) is ServiceCell
    template = container._template_lists[second.id][0]
    # a multiton root is a List provider, not a cell: that template is always called
    assert (container._recipes[template][1] is None) == (kind == "multiton root")
    first_cell = container._plugins["a"]["shortcut.first"]
    from_template = template(first_cell, "a")
    assert type(from_template) is ServiceCell
    assert cell is not from_template
    assert (cell._binding, cell._ctx, cell._deps, cell._plugin_id) == (
        from_template._binding,
        from_template._ctx,
        from_template._deps,
        from_template._plugin_id,
    )
    expected = {"roots": "root+first", "context": "ctx:root+first"}.get(kind, "root+first+m1")
    assert await container.get(second, "a") == expected == await from_template.get()


async def test_an_override_makes_plugin_cells_through_their_templates() -> None:
    """With an override registered a plugin's cell comes from its template and sees the fake."""
    factories, second = _shortcut_factories("roots")
    container = ServiceRegistry(factories).container
    container.override(create_service_ref(id="shortcut.root", scope="root"), "fake")
    try:
        assert await container.get(second, "a") == "fake+first"
    finally:
        container.reset_overrides()
    assert await container.get(second, "b") == "root+first"


async def test_backends_sharing_a_factory_share_its_binding_but_not_its_teardowns() -> None:
    """Two backends built from one generator factory reuse its binding, each closing its own."""
    ref: ServiceRef[str] = create_service_ref(id="layout.shared", scope="root")
    closed: list[str] = []
    made = iter(["first", "second"])

    def generator() -> Iterator[str]:
        value = next(made)
        yield value
        closed.append(value)

    factory = create_service_factory(ref, generator)
    first = create_specialized_backend(default_service_factories=[factory])
    second = create_specialized_backend(default_service_factories=[factory])
    await first.start()
    await second.start()
    try:
        binding = factory._call_binding
        assert binding is Binding.of(factory, context=False)
        for backend in (first, second):
            cell = backend._initializer.registry.container._root[ref.id]
            assert type(cell) is ServiceCell
            assert cell._binding is binding
        await first.stop()
        assert closed == ["first"]
    finally:
        await second.stop()
    assert closed == ["first", "second"]
