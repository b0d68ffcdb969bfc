"""``inject(ref)`` markers and reading a function's declared dependencies.

A function the container calls declares each dependency as a parameter whose
default is ``inject(ref)``. Statically ``inject`` returns the ref's type, so a
type checker compares it with the parameter's annotation; at run time it
returns an :class:`Injected` marker that :func:`read_dependencies` collects.

Reading uses the function's code object rather than :mod:`inspect` because a
backend with a thousand plugins reads thousands of init functions at start-up
(about 1 µs each instead of 15 µs); other callables fall back to ``inspect``.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable
from typing import Final, TypeVar, cast, overload

from di_backend._refs import AnyRef, ExtensionPoint, MultitonServiceRef, ServiceRef, _BaseServiceRef
from di_backend.errors import InvalidDependencyError

T = TypeVar("T")

__all__ = ["CallSpec", "Dependency", "Injected", "describe_callable", "inject", "read_dependencies"]

_CO_VARARGS: Final = inspect.CO_VARARGS
_CO_VARKEYWORDS: Final = inspect.CO_VARKEYWORDS
_NO_DEFAULT: Final = object()


class Injected:
    """The run-time value of ``inject(ref)``: a marker holding the ref (read-only).

    Hand-written rather than a frozen dataclass (same equality, hash and repr): one is
    made per ``inject(...)`` default, and a dataclass costs its class creation on
    import and twice the time per instance.
    """

    __slots__ = ("ref",)
    ref: AnyRef

    def __init__(self, ref: AnyRef) -> None:
        """Hold ``ref``."""
        object.__setattr__(self, "ref", ref)

    def __setattr__(self, name: str, value: object) -> None:
        """Refuse: a marker never changes."""
        msg = f"cannot assign to field {name!r}"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> None:
        """Refuse: a marker never changes."""
        msg = f"cannot delete field {name!r}"
        raise AttributeError(msg)

    def __eq__(self, other: object) -> bool:
        """Markers of the same ref are equal."""
        if type(other) is not Injected:
            return NotImplemented
        return bool(self.ref == other.ref)

    def __hash__(self) -> int:
        """Hash of the ref, as a frozen dataclass would."""
        return hash((self.ref,))

    def __repr__(self) -> str:
        """``Injected(ref=...)``."""
        return f"Injected(ref={self.ref!r})"


_REF_TYPES = (_BaseServiceRef, ExtensionPoint)  # a tuple: `A | B` is built at every call


@overload
def inject(ref: MultitonServiceRef[T]) -> list[T]: ...
@overload
def inject(ref: ServiceRef[T]) -> T: ...
@overload
def inject(ref: ExtensionPoint[T]) -> T: ...
def inject(ref: ServiceRef[T] | MultitonServiceRef[T] | ExtensionPoint[T]) -> T | list[T]:
    """Declare a dependency as a parameter default.

    Example: ``logger: LoggerService = inject(core_services.logger)``.

    Args:
        ref: a service ref, multiton ref (injected as ``list[T]``) or extension point.

    Returns:
        Statically the ref's type, so the type checker compares it with the
        parameter's annotation; at run time a marker the container reads.

    Raises:
        TypeError: ``ref`` is not a ref.
    """
    checked: object = ref  # callers without a type checker may pass anything
    if not isinstance(checked, _REF_TYPES):
        msg = f"inject() expects a service ref or an extension point, got {ref!r}"
        raise TypeError(msg)
    # The marker stands in for the value until the container calls the function;
    # nothing reads it as a T.
    return cast("T", Injected(ref))


class Dependency:
    """One declared dependency: the parameter name and the ref it receives.

    Treated as read-only. A plain slotted class rather than a dataclass: thousands
    are made per start (equality, hash and repr are a dataclass's).
    """

    __slots__ = ("name", "ref")

    def __init__(self, name: str, ref: AnyRef) -> None:
        """Hold the parameter ``name`` and its ``ref``."""
        self.name = name
        self.ref = ref

    def __eq__(self, other: object) -> bool:
        """Equal when both the name and the ref are."""
        if type(other) is not Dependency:
            return NotImplemented
        return self.name == other.name and bool(self.ref == other.ref)

    def __hash__(self) -> int:
        """Hash of ``(name, ref)``."""
        return hash((self.name, self.ref))

    def __repr__(self) -> str:
        """``Dependency(name=..., ref=...)``."""
        return f"Dependency(name={self.name!r}, ref={self.ref!r})"


class CallSpec:
    """A function the container calls, with its dependencies read once (read-only).

    A plain slotted class rather than a dataclass: one is made per init and factory.
    The dependencies are held as two parallel tuples, the parameter names and the
    refs, which the container reads; :attr:`deps` pairs them up as
    :class:`Dependency` objects when first asked for (messages and tools), so the
    usual start makes no object per dependency.

    Attributes:
        func: the function.
        names: the ``inject(...)`` parameters' names, in declaration order.
        refs: the refs they inject, in the same order.
        has_context: whether the first parameter receives a root context.
        description: ``module.qualname`` for messages.
    """

    __slots__ = ("_deps", "_description", "func", "has_context", "names", "refs")

    def __init__(
        self,
        func: Callable[..., object],
        names: tuple[str, ...],
        refs: tuple[AnyRef, ...],
        has_context: bool,
        description: str | None = None,
    ) -> None:
        """Hold the function, its dependencies (names and refs), flag and description.

        Without a ``description`` it is worked out from ``func`` when first asked for
        (most specs are never described: only messages and reprs need it).
        """
        self.func = func
        self.names = names
        self.refs = refs
        self.has_context = has_context
        self._description = description
        self._deps: tuple[Dependency, ...] | None = None

    @staticmethod
    def from_deps(
        func: Callable[..., object],
        deps: tuple[Dependency, ...],
        has_context: bool,
        description: str | None = None,
    ) -> CallSpec:
        """A spec from :class:`Dependency` objects."""
        names = tuple([dep.name for dep in deps])
        spec = CallSpec(func, names, tuple([dep.ref for dep in deps]), has_context, description)
        spec._deps = deps
        return spec

    @property
    def deps(self) -> tuple[Dependency, ...]:
        """The ``inject(...)`` parameters as :class:`Dependency` objects, in order."""
        if self._deps is None:
            self._deps = tuple(
                [Dependency(name, ref) for name, ref in zip(self.names, self.refs, strict=True)]
            )
        return self._deps

    @property
    def description(self) -> str:
        """``module.qualname`` of the function, for messages."""
        if self._description is None:
            self._description = describe_callable(self.func)
        return self._description

    def _fields(self) -> tuple[object, ...]:
        return (self.func, self.names, self.refs, self.has_context, self.description)

    def __eq__(self, other: object) -> bool:
        """Equal when every field is."""
        if type(other) is not CallSpec:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        """Hash of the fields."""
        return hash(self._fields())

    def __repr__(self) -> str:
        """``CallSpec(func=..., deps=..., has_context=..., description=...)``."""
        return (
            f"CallSpec(func={self.func!r}, deps={self.deps!r}, "
            f"has_context={self.has_context!r}, description={self.description!r})"
        )


def describe_callable(func: object) -> str:
    """Name a callable for messages: ``module.qualname``."""
    target = func.func if isinstance(func, functools.partial) else func
    module = getattr(target, "__module__", None) or "?"
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{module}.{qualname}"


def _raw_parameters(func: Callable[..., object]) -> list[tuple[str, object, bool]]:
    """Return ``(name, default, positional)`` per parameter; reject ``*args``/``**kwargs``."""
    target: object = func
    skip = 0
    if isinstance(target, types.MethodType):
        target, skip = target.__func__, 1
    if isinstance(target, types.FunctionType):
        code = target.__code__
        if code.co_flags & (_CO_VARARGS | _CO_VARKEYWORDS):
            rest = code.co_varnames[code.co_argcount + code.co_kwonlyargcount :]
            star = f"*{rest[0]}" if code.co_flags & _CO_VARARGS else f"**{rest[0]}"
            return [(star, _NO_DEFAULT, False)]
        argcount = code.co_argcount
        names = code.co_varnames[: argcount + code.co_kwonlyargcount]
        defaults = target.__defaults__ or ()
        kwdefaults = target.__kwdefaults__ or {}
        first_default = argcount - len(defaults)
        params: list[tuple[str, object, bool]] = []
        for index, name in enumerate(names):
            if index < argcount:
                default = defaults[index - first_default] if index >= first_default else _NO_DEFAULT
                params.append((name, default, True))
            else:
                params.append((name, kwdefaults.get(name, _NO_DEFAULT), False))
        return params[skip:]
    params = []
    for parameter in inspect.signature(func).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            stars = "*" if parameter.kind is parameter.VAR_POSITIONAL else "**"
            return [(f"{stars}{parameter.name}", _NO_DEFAULT, False)]
        default = _NO_DEFAULT if parameter.default is parameter.empty else parameter.default
        positional = parameter.kind is not parameter.KEYWORD_ONLY
        params.append((parameter.name, default, positional))
    return params


def _plain_spec(func: object) -> CallSpec | None:
    """The spec of a plain function whose every parameter is ``inject(...)``, else ``None``.

    The shortcut of :func:`read_dependencies` for the usual init or factory: a
    ``def`` without ``*args``/``**kwargs`` or a root context. Anything else, including
    every function that breaks a rule, goes the long way, which names the problem.
    """
    if type(func) is not types.FunctionType:
        return None
    code = func.__code__
    defaults = func.__defaults__ or ()
    argcount = code.co_argcount
    if code.co_flags & (_CO_VARARGS | _CO_VARKEYWORDS) or len(defaults) != argcount:
        return None
    kwdefaults = func.__kwdefaults__
    found: list[AnyRef] = []
    for default in defaults:
        if type(default) is not Injected:
            return None
        found.append(default.ref)
    if kwdefaults is None:
        if code.co_kwonlyargcount:
            return None  # keyword-only parameters without defaults: the long way says so
        names = code.co_varnames[:argcount]
    else:
        names = code.co_varnames[: argcount + code.co_kwonlyargcount]
        for name in names[argcount:]:
            default = kwdefaults.get(name)
            if type(default) is not Injected:
                return None
            found.append(default.ref)
    return CallSpec(func, names, tuple(found), False)


def read_dependencies(
    func: object, *, what: str | Callable[[], str], context: bool = False
) -> CallSpec:
    """Read the ``inject(...)`` parameters of ``func``.

    Args:
        func: the function the container will call.
        what: how messages name it, e.g. ``"init of plugin 'todo'"``, or a function
            returning that (called only when there is a message to write).
        context: the first parameter receives a root context instead of a dependency.

    Returns:
        The :class:`CallSpec`.

    Raises:
        InvalidDependencyError: ``func`` is not callable, takes ``*args``/``**kwargs``,
            or has a parameter without an ``inject(...)`` default.
    """
    if not context:
        spec = _plain_spec(func)
        if spec is not None:
            return spec
    return _read_parameters(func, what=what if isinstance(what, str) else what(), context=context)


def _read_parameters(func: object, *, what: str, context: bool) -> CallSpec:
    """The long way of :func:`read_dependencies`, for any callable, with every message."""
    if not callable(func):
        msg = f"The {what} must be a function, got {func!r}"
        raise InvalidDependencyError(msg)
    description = describe_callable(func)
    deps: list[Dependency] = []
    has_context = False
    for index, (name, default, positional) in enumerate(_raw_parameters(func)):
        if name.startswith("*"):
            msg = (
                f"Parameter '{name}' of the {what} '{description}' collects arguments "
                "(*args and **kwargs are not allowed): the container passes nothing it was "
                "not asked for; declare each dependency as its own parameter with an "
                "inject(...) default"
            )
            raise InvalidDependencyError(msg)
        if isinstance(default, Injected):
            deps.append(Dependency(name, default.ref))
        elif context and index == 0 and positional and default is _NO_DEFAULT:
            has_context = True
        else:
            msg = (
                f"Parameter '{name}' of the {what} '{description}' has no inject(...) "
                f"default; declare it as `{name}: T = inject(ref)`"
            )
            if context and index == 0:
                msg += " or make it the first parameter without a default (the root context)"
            raise InvalidDependencyError(msg)
    if context and not has_context:
        msg = (
            f"The {what} '{description}' must take the root context as its first "
            "parameter (without a default), because the factory has a create_root_context"
        )
        raise InvalidDependencyError(msg)
    return CallSpec.from_deps(func, tuple(deps), has_context, description)
