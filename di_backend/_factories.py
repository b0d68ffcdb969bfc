"""Service factories: how a service ref gets its instances."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, Literal, TypeAlias, TypeVar, cast, overload

from di_backend._features import BackendFeature
from di_backend._inject import CallSpec, read_dependencies
from di_backend._refs import AnyServiceRef, ExtensionPoint, MultitonServiceRef, Scope, ServiceRef
from di_backend.errors import InvalidDependencyError, InvalidFeatureError

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
C = TypeVar("C")

__all__ = ["Initialization", "ServiceFactory", "create_service_factory"]

Initialization: TypeAlias = Literal["always", "lazy"]
"""``"always"``: created at start even if unused; ``"lazy"``: created when first needed."""

FactoryResult: TypeAlias = "T | Awaitable[T] | Iterator[T] | AsyncIterator[T]"


class ServiceFactory(BackendFeature, Generic[T_co]):
    """Produces the instances of one service ref; a backend feature.

    Create it with :func:`create_service_factory`. Adding it to a backend
    overrides the default factory for its ref.

    Attributes:
        service: the ref it produces.
        initialization: ``"always"`` or ``"lazy"``.
    """

    __slots__ = (
        "_call",
        "_call_binding",
        "_context",
        "_context_binding",
        "_deps",
        "_service",
        "initialization",
    )

    def __init__(
        self,
        service: ServiceRef[T_co] | MultitonServiceRef[T_co],
        call: CallSpec,
        context: CallSpec | None,
        initialization: Initialization,
        deps: tuple[AnyServiceRef, ...] | None = None,
    ) -> None:
        self._service: AnyServiceRef = service
        self._call = call
        self._context = context
        self.initialization: Initialization = initialization
        if deps is None:
            refs: dict[str, AnyServiceRef] = {}
            for spec in (context, call):
                if spec is not None:
                    for ref in spec.refs:
                        if not isinstance(ref, ExtensionPoint):
                            refs.setdefault(ref._id, ref)
            deps = tuple(refs.values())
        # read on every wiring check and graph build: worked out once (or given by
        # create_service_factory, which reads them while checking the scopes)
        self._deps: tuple[AnyServiceRef, ...] = deps
        # the container's view of the factory (``_cells.Binding``), made on first use
        self._call_binding: object = None
        self._context_binding: object = None

    @property
    def service(self) -> ServiceRef[T_co] | MultitonServiceRef[T_co]:
        """The ref this factory produces."""
        return self._service

    @property
    def deps(self) -> tuple[ServiceRef[object] | MultitonServiceRef[object], ...]:
        """The refs the factory and its root context depend on (no duplicates)."""
        return self._deps

    def __repr__(self) -> str:
        return f"ServiceFactory({self.service}, {self._call.description})"


_SERVICE_REF_TYPES = (ServiceRef, MultitonServiceRef)  # a tuple: `A | B` is built at every call

# Plugin-scoped core services and the root service a root factory can use instead.
_ROOT_COUNTERPARTS = {
    "core.logger": "core.rootLogger",
    "core.lifecycle": "core.rootLifecycle",
    "core.httpRouter": "core.rootHttpRouter",
}


def _check_scopes(service: AnyServiceRef, spec: CallSpec, *, context: bool) -> None:
    for dep in spec.deps:
        if isinstance(dep.ref, ExtensionPoint):
            msg = (
                f"Service factory for '{service.id}' ('{spec.description}') depends on "
                f"extension point '{dep.ref.id}'; only module inits may depend on extension points"
            )
            raise InvalidDependencyError(msg)
        if dep.ref.scope is Scope.ROOT:
            continue
        if service.scope is Scope.ROOT:
            counterpart = _ROOT_COUNTERPARTS.get(dep.ref.id)
            instead = f"inject '{counterpart}' instead" if counterpart else "inject a root service"
            msg = (
                f"Failed to instantiate 'root' scoped service '{service.id}' because it "
                f"depends on '{dep.ref.scope}' scoped service '{dep.ref.id}'. This is a wiring "
                f"error: '{spec.description}' injects it in parameter '{dep.name}', but a root "
                "service is made once per backend and cannot receive a service that exists "
                f"per plugin; {instead}, or make '{service.id}' plugin-scoped."
            )
            raise InvalidDependencyError(msg)
        if context:
            msg = (
                f"The create_root_context of service '{service.id}' ('{spec.description}') "
                f"depends on 'plugin' scoped service '{dep.ref.id}'; it runs once per "
                "factory and receives root scoped services only"
            )
            raise InvalidDependencyError(msg)


def _checked_deps(service: AnyServiceRef, spec: CallSpec) -> tuple[AnyServiceRef, ...]:
    """The refs ``spec`` injects, without duplicates, after :func:`_check_scopes`'s rules.

    One pass for the usual factory (no root context); a dependency that breaks a
    rule is left to :func:`_check_scopes`, which raises with the message.
    """
    refs: dict[str, AnyServiceRef] = {}
    root_service = service._scope is Scope.ROOT
    for dep_ref in spec.refs:
        if isinstance(dep_ref, ExtensionPoint) or (
            root_service and dep_ref._scope is not Scope.ROOT
        ):
            _check_scopes(service, spec, context=False)
            raise AssertionError  # pragma: no cover - _check_scopes raised
        if dep_ref._id not in refs:
            refs[dep_ref._id] = dep_ref
    if len(refs) == len(spec.refs):
        return cast("tuple[AnyServiceRef, ...]", spec.refs)  # no duplicates: share the tuple
    return tuple(refs.values())


@overload
def create_service_factory(
    service: ServiceRef[T] | MultitonServiceRef[T],
    factory: Callable[[], T | Awaitable[T] | Iterator[T] | AsyncIterator[T]],
    *,
    create_root_context: None = None,
    initialization: Initialization | None = None,
) -> ServiceFactory[T]: ...
@overload
def create_service_factory(
    service: ServiceRef[T] | MultitonServiceRef[T],
    factory: Callable[[C], T | Awaitable[T] | Iterator[T] | AsyncIterator[T]],
    *,
    create_root_context: Callable[[], Awaitable[C]],
    initialization: Initialization | None = None,
) -> ServiceFactory[T]: ...
@overload
def create_service_factory(
    service: ServiceRef[T] | MultitonServiceRef[T],
    factory: Callable[[C], T | Awaitable[T] | Iterator[T] | AsyncIterator[T]],
    *,
    create_root_context: Callable[[], C],
    initialization: Initialization | None = None,
) -> ServiceFactory[T]: ...
# The same three again, typed ServiceFactory[object]: mypy infers T from a wider
# return context first (`list[ServiceFactory[object]]`, `default_service_factories=[...]`)
# and would then reject the invariant ref; these still check the factory against the ref.
@overload
def create_service_factory(  # pyright: ignore[reportOverlappingOverload]
    service: ServiceRef[T] | MultitonServiceRef[T],
    factory: Callable[[], T | Awaitable[T] | Iterator[T] | AsyncIterator[T]],
    *,
    create_root_context: None = None,
    initialization: Initialization | None = None,
) -> ServiceFactory[object]: ...
@overload
def create_service_factory(
    service: ServiceRef[T] | MultitonServiceRef[T],
    factory: Callable[[C], T | Awaitable[T] | Iterator[T] | AsyncIterator[T]],
    *,
    create_root_context: Callable[[], Awaitable[C]],
    initialization: Initialization | None = None,
) -> ServiceFactory[object]: ...
@overload
def create_service_factory(
    service: ServiceRef[T] | MultitonServiceRef[T],
    factory: Callable[[C], T | Awaitable[T] | Iterator[T] | AsyncIterator[T]],
    *,
    create_root_context: Callable[[], C],
    initialization: Initialization | None = None,
) -> ServiceFactory[object]: ...
def create_service_factory(
    service: ServiceRef[T] | MultitonServiceRef[T],
    factory: Callable[..., object],
    *,
    create_root_context: Callable[..., object] | None = None,
    initialization: Initialization | None = None,
) -> ServiceFactory[T] | ServiceFactory[object]:
    """Create the factory of a service ref.

    Args:
        service: the ref it produces; the factory's return type must match it.
        factory: a plain, ``async``, generator or async-generator function whose
            parameters are ``inject(...)`` dependencies. A generator yields the
            service once; the code after ``yield`` runs when the backend stops.
        create_root_context: plugin scope only: runs once per factory with root
            dependencies; its result is the factory's first parameter.
        initialization: default ``"always"`` for root scope, ``"lazy"`` for plugin scope.

    Returns:
        A :class:`ServiceFactory`, usable with ``Backend.add``.

    Raises:
        InvalidFeatureError: ``service`` is not a service ref, or a bad option.
        InvalidDependencyError: a parameter lacks ``inject(...)``, or a root
            service depends on a plugin-scoped one.
    """
    checked: object = service  # callers without a type checker may pass anything
    if not isinstance(checked, _SERVICE_REF_TYPES):
        msg = f"create_service_factory expects a service ref, got {service!r}"
        raise InvalidFeatureError(msg)
    if initialization not in (None, "always", "lazy"):
        msg = (
            f"Invalid initialization {initialization!r} for service '{service.id}', "
            "expected 'always' or 'lazy'"
        )
        raise InvalidFeatureError(msg)
    if create_root_context is not None and service.scope is Scope.ROOT:
        msg = (
            f"Service factory for root scoped service '{service.id}' cannot have a "
            "create_root_context; root services are created once already"
        )
        raise InvalidFeatureError(msg)
    ref: AnyServiceRef = service
    if create_root_context is None:
        call = read_dependencies(factory, what=lambda: f"service factory for '{service.id}'")
        if initialization is None:
            initialization = "always" if ref._scope is Scope.ROOT else "lazy"
        return ServiceFactory(service, call, None, initialization, _checked_deps(ref, call))
    context: CallSpec | None = None
    if create_root_context is not None:
        context = read_dependencies(
            create_root_context, what=f"create_root_context of service '{service.id}'"
        )
        _check_scopes(ref, context, context=True)
    call = read_dependencies(
        factory,
        what=f"service factory for '{service.id}'",
        context=create_root_context is not None,
    )
    _check_scopes(ref, call, context=False)
    if initialization is None:
        initialization = "always" if service.scope is Scope.ROOT else "lazy"
    return ServiceFactory(service, call, context, initialization)
