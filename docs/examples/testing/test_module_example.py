"""Testing a module with a fake extension point: its plugin need not be installed."""

from __future__ import annotations

from typing import Protocol

from di_backend import (
    ExtensionPoint,
    ModuleRegistrationPoints,
    create_backend_module,
    create_extension_point,
    inject,
)
from di_backend.testing import AsyncTestBackends, start_test_backend

# -- the extension point and the module under test (normally imported) ------------


class TodoActions(Protocol):
    """What the ``todo`` plugin shares with its modules."""

    def add_action(self, name: str) -> None:
        """Register an action by name."""
        ...


todo_actions: ExtensionPoint[TodoActions] = create_extension_point(id="todo.actions")


def _register_github(env: ModuleRegistrationPoints) -> None:
    def init(actions: TodoActions = inject(todo_actions)) -> None:
        actions.add_action("github.create-issue")

    env.register_init(init)


github_module = create_backend_module(
    plugin_id="todo", module_id="github", register=_register_github
)

# -- the tests ----------------------------------------------------------------------


class FakeActions:
    """A fake of the extension point that remembers what modules added."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add_action(self, name: str) -> None:
        self.names.append(name)


async def test_module_adds_its_action() -> None:
    """The module adds its action to the (fake) extension point of its plugin."""
    actions = FakeActions()
    async with start_test_backend(
        features=[github_module], extension_points=[(todo_actions, actions)]
    ):
        assert actions.names == ["github.create-issue"]


async def test_module_with_the_fixture(test_backend: AsyncTestBackends) -> None:
    """The same with the ``test_backend`` fixture, which stops the backend afterwards."""
    actions = FakeActions()
    await test_backend(features=[github_module], extension_points=[(todo_actions, actions)])
    assert actions.names == ["github.create-issue"]
