"""Typed keys of the container: service refs and extension-point refs."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar, overload

if TYPE_CHECKING:
    from di_backend._factories import ServiceFactory

T = TypeVar("T")

__all__ = [
    "ExtensionPoint",
    "MultitonServiceRef",
    "Scope",
    "ServiceRef",
    "create_extension_point",
    "create_service_ref",
]


class Scope(enum.StrEnum):
    """Where a service lives: once per backend (``root``) or once per plugin (``plugin``)."""

    ROOT = "root"
    PLUGIN = "plugin"


ScopeName: TypeAlias = Literal["root", "plugin"] | Scope
_SCOPES: dict[str, Scope] = {scope.value: scope for scope in Scope}  # a Scope is its str too


class _BaseServiceRef(Generic[T]):
    """What service refs and multiton refs share; not part of the public API."""

    __slots__ = ("_default_factory", "_id", "_scope")
    _id: str
    _scope: Scope
    _default_factory: Callable[..., ServiceFactory[T]] | None

    def __init__(
        self,
        id: str,
        scope: ScopeName = Scope.PLUGIN,
        default_factory: Callable[..., ServiceFactory[T]] | None = None,
    ) -> None:
        checked: object = id  # callers without a type checker may pass anything
        if not isinstance(checked, str) or not checked:
            msg = f"A service ref id must be a non-empty string, got {id!r}"
            raise TypeError(msg)
        object.__setattr__(self, "_id", id)
        # a dict lookup for the usual names (Scope(...) costs 0.5 µs); Scope raises for others
        given: object = scope  # callers without a type checker may pass anything
        known = _SCOPES.get(given) if isinstance(given, str) else None
        object.__setattr__(self, "_scope", known or Scope(scope))
        object.__setattr__(self, "_default_factory", default_factory)

    @property
    def id(self) -> str:
        """The globally unique id, e.g. ``core.rootConfig``."""
        return self._id

    @property
    def scope(self) -> Scope:
        """``Scope.ROOT`` or ``Scope.PLUGIN`` (a ``str`` enum)."""
        return self._scope

    @property
    def multiton(self) -> bool:
        """Whether many factories may be installed (injected as ``list[T]``)."""
        return False

    @property
    def default_factory(self) -> Callable[..., ServiceFactory[T]] | None:
        """The fallback used when no factory for this id is installed."""
        return self._default_factory

    def __setattr__(self, name: str, value: object) -> None:
        msg = f"{self} is immutable"
        raise AttributeError(msg)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return False
        return (getattr(other, "_id", None), getattr(other, "_scope", None)) == (
            self._id,
            self._scope,
        )

    def __hash__(self) -> int:
        return hash((type(self), self._id))

    def __repr__(self) -> str:
        return f"serviceRef{{{self._id}}}"

    __str__ = __repr__


class ServiceRef(_BaseServiceRef[T]):
    """A typed key for a service with one instance per scope.

    Create it with :func:`create_service_ref`; inject it with ``inject(ref)``.

    Attributes:
        id: the globally unique id.
        scope: ``"root"`` or ``"plugin"``.
        multiton: always ``False``.
    """

    __slots__ = ()

    @property
    def multiton(self) -> Literal[False]:
        """Always ``False``."""
        return False


class MultitonServiceRef(_BaseServiceRef[T]):
    """A typed key for a service with many implementations, injected as ``list[T]``.

    Attributes:
        id: the globally unique id.
        scope: ``"root"`` or ``"plugin"``.
        multiton: always ``True``.
    """

    __slots__ = ()

    @property
    def multiton(self) -> Literal[True]:
        """Always ``True``."""
        return True


class ExtensionPoint(Generic[T]):
    """A typed key for an object a plugin (or module) shares with the modules of its plugin."""

    __slots__ = ("_id",)
    _id: str

    def __init__(self, id: str) -> None:
        checked: object = id  # callers without a type checker may pass anything
        if not isinstance(checked, str) or not checked:
            msg = f"An extension point id must be a non-empty string, got {id!r}"
            raise TypeError(msg)
        object.__setattr__(self, "_id", id)

    @property
    def id(self) -> str:
        """The globally unique id."""
        return self._id

    def __setattr__(self, name: str, value: object) -> None:
        msg = f"{self} is immutable"
        raise AttributeError(msg)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExtensionPoint) and other._id == self._id

    def __hash__(self) -> int:
        return hash((ExtensionPoint, self._id))

    def __repr__(self) -> str:
        return f"extensionPoint{{{self._id}}}"

    __str__ = __repr__


# Internal aliases: "a ref of whatever type". Refs are invariant (so a factory's
# return type is checked against its ref), hence Any rather than object here.
AnyServiceRef: TypeAlias = "ServiceRef[Any] | MultitonServiceRef[Any]"
AnyRef: TypeAlias = "ServiceRef[Any] | MultitonServiceRef[Any] | ExtensionPoint[Any]"


@overload
def create_service_ref(
    *,
    id: str,
    scope: ScopeName = ...,
    multiton: Literal[False] = False,
    default_factory: Callable[[ServiceRef[T]], ServiceFactory[T]] | None = None,
) -> ServiceRef[T]: ...


@overload
def create_service_ref(
    *,
    id: str,
    scope: ScopeName = ...,
    multiton: Literal[True],
    default_factory: Callable[[MultitonServiceRef[T]], ServiceFactory[T]] | None = None,
) -> MultitonServiceRef[T]: ...


def create_service_ref(
    *,
    id: str,
    scope: ScopeName = Scope.PLUGIN,
    multiton: bool = False,
    default_factory: Callable[..., ServiceFactory[T]] | None = None,
) -> ServiceRef[T] | MultitonServiceRef[T]:
    """Create a typed service ref; annotate the variable with what it carries.

    Args:
        id: globally unique id; the convention is ``"<plugin_id>.<service>"``.
        scope: ``"plugin"`` (default, one instance per plugin) or ``"root"``.
        multiton: many factories may be installed; injected as ``list[T]``.
        default_factory: called with the ref to get a factory when none is installed.

    Returns:
        A :class:`ServiceRef` or, with ``multiton=True``, a :class:`MultitonServiceRef`.

    Example::

        todo_store: ServiceRef[TodoStore] = create_service_ref(id="todo.store")
    """
    if multiton:
        return MultitonServiceRef(id, scope, default_factory)
    return ServiceRef(id, scope, default_factory)


# T appears only in the return type on purpose: the caller must annotate the variable.
def create_extension_point(*, id: str) -> ExtensionPoint[T]:  # pyright: ignore[reportInvalidTypeVarUse]
    """Create a typed extension point; annotate the variable with what it carries.

    Example::

        todo_ext: ExtensionPoint[TodoExtension] = create_extension_point(id="todo.extension")
    """
    return ExtensionPoint(id)
