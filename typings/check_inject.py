"""Pins ``inject``: ``ServiceRef[T]`` and ``ExtensionPoint[T]`` → ``T``, multitons → ``list[T]``.

Because ``inject(ref)`` is typed as the ref's type, a plain type checker compares
it with the parameter's annotation. Type-checked by mypy --strict and pyright
strict, never run; a line ending in a ``type: ignore`` comment with a code is a
mistake both checkers must report on that line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, assert_type

from di_backend import (
    ExtensionPoint,
    MultitonServiceRef,
    PluginRegistrationPoints,
    ServiceRef,
    core_services,
    create_backend_plugin,
    create_extension_point,
    create_service_ref,
    inject,
)
from di_backend.services import LoggerService


class Database(Protocol):
    def query(self, sql: str) -> list[str]: ...


class Action(Protocol):
    def run(self) -> None: ...


class TodoExtension(Protocol):
    def add_action(self, action: Action) -> None: ...


database: ServiceRef[Database] = create_service_ref(id="todo.database")
actions: MultitonServiceRef[Action] = create_service_ref(id="todo.actions", multiton=True)
todo_ext: ExtensionPoint[TodoExtension] = create_extension_point(id="todo.extension")

# --- accepted -------------------------------------------------------------------------

assert_type(inject(database), Database)
assert_type(inject(actions), list[Action])
assert_type(inject(todo_ext), TodoExtension)
assert_type(inject(core_services.logger), LoggerService)


async def init(
    logger: LoggerService = inject(core_services.logger),
    db: Database = inject(database),
    all_actions: list[Action] = inject(actions),  # multiton -> list[T]
) -> None:
    assert_type(db, Database)
    assert_type(all_actions, list[Action])
    logger.info(f"{len(all_actions)} actions, {len(db.query('select 1'))} rows")


def sync_init(db: Database = inject(database), *, ext: TodoExtension = inject(todo_ext)) -> None:
    """Plain ``def`` and keyword-only parameters work the same way."""


# A parameter may be wider than the ref's type: a supertype, an optional, a read-only
# view of the multiton list. (mypy, not pyright, rejects a *generic* annotation whose
# type argument is wider than the ref's, e.g. ``Sequence[object] = inject(actions)``:
# it infers ``T`` from the annotation first. See docs/typing.md.)
async def wider(
    db: object = inject(database),
    maybe_db: Database | None = inject(database),
    action_view: Sequence[Action] = inject(actions),
    action_iter: Iterable[Action] = inject(actions),
) -> None: ...


# --- rejected -------------------------------------------------------------------------


# A parameter typed differently from its ref.
async def wrong_type(db: LoggerService = inject(database)) -> None: ...  # type: ignore[assignment]


# A multiton injected as T instead of list[T].
async def not_a_list(action: Action = inject(actions)) -> None: ...  # type: ignore[assignment]


# An extension point of another type.
async def wrong_ext(ext: Database = inject(todo_ext)) -> None: ...  # type: ignore[assignment]


# A feature where inject expects a ref.
def _register(env: PluginRegistrationPoints) -> None: ...


todo_plugin = create_backend_plugin(plugin_id="todo", register=_register)
inject(todo_plugin)  # type: ignore[call-overload]

# A ref type as a value (a common slip: the class instead of the ref).
inject(Database)  # type: ignore[call-overload]
