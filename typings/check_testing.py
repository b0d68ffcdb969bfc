"""Pins ``di_backend.testing`` as api.md uses it: test backends, mocks, factory testers.

``start_test_backend`` returns a ``Backend``; ``ServiceFactoryTester`` keeps the
factory's type (``get_subject()`` → ``T``, ``get_service(ref)`` → ``T`` or ``list[T]``);
``(ref, impl)`` pairs are checked when every pair has the same type. Type-checked
by mypy --strict and pyright strict, never run; a line ending in a ``type: ignore``
comment with a code is a mistake both checkers must report on that line.
"""

from __future__ import annotations

from typing import Protocol, assert_type

from di_backend import (
    Backend,
    ExtensionPoint,
    MultitonServiceRef,
    ServiceFactory,
    ServiceRef,
    core_services,
    create_extension_point,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend.services import LoggerService, RootConfigService
from di_backend.testing import (
    ExtensionPointImpl,
    ServiceFactoryTester,
    mock_services,
    start_test_backend,
)


class TodoExtension(Protocol):
    def add_action(self, name: str) -> None: ...


class FakeExtension:
    def __init__(self) -> None:
        self.names: list[str] = []

    def add_action(self, name: str) -> None:
        self.names.append(name)


class TodoStore(Protocol):
    async def list(self) -> list[str]: ...


class MemoryStore:
    def __init__(self, limit: float) -> None:
        self.limit = limit

    async def list(self) -> list[str]:
        return []


todo_ext: ExtensionPoint[TodoExtension] = create_extension_point(id="todo.extension")
todo_store: ServiceRef[TodoStore] = create_service_ref(id="todo.store")
tags: MultitonServiceRef[str] = create_service_ref(id="todo.tags", multiton=True)


def make_store(config: RootConfigService = inject(core_services.root_config)) -> TodoStore:
    return MemoryStore(config.get_number("todo.limit"))


todo_store_factory = create_service_factory(todo_store, make_store)


async def main() -> None:
    fake_ext = FakeExtension()
    backend = await start_test_backend(
        features=[mock_services.root_config.factory(data={"todo": {"limit": 3}})],
        extension_points=[(todo_ext, fake_ext)],
    )
    assert_type(backend, Backend)
    await backend.stop()
    await start_test_backend(extension_points=[ExtensionPointImpl(todo_ext, fake_ext)])

    assert_type(mock_services.root_config.factory(data={}), ServiceFactory[RootConfigService])
    assert_type(mock_services.logger.factory(), ServiceFactory[LoggerService])

    tester = ServiceFactoryTester.create(
        todo_store_factory,
        dependencies=[
            mock_services.root_config.factory(data={"todo": {"limit": 3}}),
            create_service_factory(tags, lambda: "urgent"),
        ],
    )
    assert_type(tester, ServiceFactoryTester[TodoStore])
    assert_type(await tester.get_subject(), TodoStore)
    assert_type(await tester.get_subject(plugin_id="other"), TodoStore)
    assert_type(await tester.get_service(core_services.root_config), RootConfigService)
    assert_type(await tester.get_service(tags, plugin_id="test"), list[str])


async def mistakes() -> None:
    # An implementation that does not satisfy its extension point.
    ExtensionPointImpl(todo_ext, object())  # type: ignore[misc]
    # A pair whose implementation does not satisfy its extension point.
    await start_test_backend(extension_points=[(todo_ext, object())])  # type: ignore[misc]
    # A ref where a feature is expected.
    await start_test_backend(features=[todo_store])  # type: ignore[list-item]
