"""Testing a service factory with ``ServiceFactoryTester``: no backend is started."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from di_backend import ServiceRef, core_services, create_service_factory, create_service_ref, inject
from di_backend.errors import ServiceInstantiationError
from di_backend.services import PluginMetadataService, RootConfigService
from di_backend.testing import ServiceFactoryTester, mock_services

# -- the service and its factory (normally imported) -----------------------------


@dataclass(frozen=True)
class TodoStore:
    """A plugin's todo store with a per-plugin key prefix."""

    prefix: str
    limit: int


todo_store: ServiceRef[TodoStore] = create_service_ref(id="todo.store")


def _make_store(
    config: RootConfigService = inject(core_services.root_config),
    metadata: PluginMetadataService = inject(core_services.plugin_metadata),
) -> TodoStore:
    return TodoStore(prefix=f"{metadata.get_id()}:", limit=int(config.get_number("todo.limit")))


todo_store_factory = create_service_factory(todo_store, _make_store)

# -- the tests ----------------------------------------------------------------------

CONFIG = mock_services.root_config.factory(data={"todo": {"limit": 5}})


async def test_store_for_each_plugin() -> None:
    """The store reads its limit from config and is made once per plugin."""
    tester = ServiceFactoryTester.create(todo_store_factory, dependencies=[CONFIG])
    store = await tester.get_subject()  # for plugin "test"
    assert store == TodoStore(prefix="test:", limit=5)
    assert await tester.get_subject("catalog") == TodoStore(prefix="catalog:", limit=5)
    assert await tester.get_subject() is store


async def test_store_needs_a_limit() -> None:
    """Without ``todo.limit`` the factory fails, naming the service and the plugin."""
    tester = ServiceFactoryTester.create(todo_store_factory)  # the mock config is empty
    message = "Failed to instantiate service 'todo.store' for 'test' because the factory"
    with pytest.raises(ServiceInstantiationError, match=re.escape(message)):
        await tester.get_subject()


async def test_dependencies_are_inspectable() -> None:
    """``get_service`` returns what the subject's dependencies see."""
    tester = ServiceFactoryTester.create(todo_store_factory, dependencies=[CONFIG])
    config = await tester.get_service(core_services.root_config)
    assert config.get_number("todo.limit") == 5
