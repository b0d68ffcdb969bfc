"""Pins the types of refs: ``create_service_ref``, ``create_extension_point`` and ref attributes.

Type-checked by mypy --strict and pyright strict, never run. A line ending in
``# type: ignore[code]`` is a mistake both checkers must report there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol, assert_type

from di_backend import (
    ExtensionPoint,
    MultitonServiceRef,
    Scope,
    ServiceFactory,
    ServiceRef,
    create_extension_point,
    create_service_factory,
    create_service_ref,
)


class TodoStore(Protocol):
    async def list(self) -> list[str]: ...


class Clock(Protocol):
    def now(self) -> float: ...


class Action(Protocol):
    def run(self) -> None: ...


class TodoExtension(Protocol):
    def add_action(self, action: Action) -> None: ...


# --- accepted: the annotated forms of api.md --------------------------------------------

todo_store: ServiceRef[TodoStore] = create_service_ref(id="todo.store")
clock: ServiceRef[Clock] = create_service_ref(id="core.clock", scope="root")
clock_enum: ServiceRef[Clock] = create_service_ref(id="core.clock2", scope=Scope.ROOT)
actions: MultitonServiceRef[Action] = create_service_ref(id="todo.actions", multiton=True)
todo_ext: ExtensionPoint[TodoExtension] = create_extension_point(id="todo.extension")

assert_type(todo_store, ServiceRef[TodoStore])
assert_type(clock, ServiceRef[Clock])
assert_type(actions, MultitonServiceRef[Action])
assert_type(todo_ext, ExtensionPoint[TodoExtension])


# Ref attributes.
assert_type(todo_store.id, str)
assert_type(todo_store.scope, Scope)
assert_type(todo_store.multiton, Literal[False])
assert_type(actions.multiton, Literal[True])
assert_type(todo_ext.id, str)


# A default_factory receives the ref and returns a factory of the same type.
class SystemClock:
    def now(self) -> float:
        return 0.0


def make_clock() -> Clock:
    return SystemClock()


def clock_default(ref: ServiceRef[Clock]) -> ServiceFactory[Clock]:
    return create_service_factory(ref, make_clock)


def int_default(ref: ServiceRef[int]) -> ServiceFactory[int]:
    return create_service_factory(ref, lambda: 1)


defaulted: ServiceRef[Clock] = create_service_ref(id="core.clock3", default_factory=clock_default)
assert_type(defaulted.default_factory, Callable[..., ServiceFactory[Clock]] | None)
lambda_default: ServiceRef[Clock] = create_service_ref(
    id="core.clock4", default_factory=lambda ref: create_service_factory(ref, make_clock)
)

# --- rejected --------------------------------------------------------------------------

# An un-annotated ref: the user has to say what it carries.
untyped = create_service_ref(id="todo.untyped")  # type: ignore[var-annotated]
untyped_multi = create_service_ref(id="todo.untyped2", multiton=True)  # type: ignore[var-annotated]

# The annotation must match ``multiton``.
not_multi: MultitonServiceRef[Action] = create_service_ref(id="a")  # type: ignore[assignment]
multi: ServiceRef[Action] = create_service_ref(id="b", multiton=True)  # type: ignore[assignment]

# Only "root" and "plugin" are scopes.
bad_scope: ServiceRef[Clock] = create_service_ref(id="c", scope="global")  # type: ignore[call-overload]

# A default_factory for another type.
bad_default: ServiceRef[Clock] = create_service_ref(id="d", default_factory=int_default)  # type: ignore[arg-type]

# Refs are invariant: a ref of a subtype is not a ref of its base (a factory's
# return type is checked against the ref, so refs cannot be covariant).
base_ref: ServiceRef[object] = clock  # type: ignore[assignment]

# An extension point needs an annotation too.
untyped_ext = create_extension_point(id="todo.ext2")  # type: ignore[var-annotated]
