"""The actions extension point of the ``todo`` plugin."""

from collections.abc import Awaitable
from typing import Protocol

from di_backend import ExtensionPoint, create_extension_point


class TodoAction(Protocol):
    """Something the todo plugin can do with a todo item."""

    @property
    def name(self) -> str:
        """A unique name, e.g. ``github.create-issue``."""
        ...

    def run(self, title: str) -> Awaitable[str]:
        """Act on the todo titled ``title``; return a short description of the result."""
        ...


class TodoActionsExtensionPoint(Protocol):
    """What modules of the ``todo`` plugin receive to add actions."""

    def add_action(self, action: TodoAction) -> None:
        """Make ``action`` available to the todo plugin."""
        ...


todo_actions_extension_point: ExtensionPoint[TodoActionsExtensionPoint] = create_extension_point(
    id="todo.actions"
)
"""Inject this in a module of plugin ``todo`` to add actions."""
