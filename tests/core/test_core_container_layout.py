"""The provider layout's shortcuts behave exactly like dependency-injector's own methods."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from dependency_injector import containers, providers

from di_backend import (
    PluginRegistrationPoints,
    ServiceRef,
    create_backend_plugin,
    create_service_factory,
    create_service_ref,
    create_specialized_backend,
    inject,
)
from di_backend._cells import Binding, Teardowns
from di_backend._container import ServiceCell


def traversed(container: containers.DynamicContainer, *kinds: type[object]) -> list[object]:
    """The providers dependency-injector's traversal finds in ``container``."""
    found: Iterator[object] = container.traverse(types=list(kinds) or None)
    return list(found)


def make_cell() -> ServiceCell:
    """A root-scoped cell for a factory without dependencies."""
    ref: ServiceRef[str] = create_service_ref(id="layout.svc", scope="root")
    binding = Binding(create_service_factory(ref, lambda: "made"), Teardowns(), context=False)
    return ServiceCell(binding, None)


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

    cell = ServiceCell(Binding(create_service_factory(ref, slow), Teardowns(), context=False), None)
    values = await asyncio.gather(*(cell.get() for _ in range(calls)))
    assert runs == [1]
    assert all(value is values[0] for value in values)
