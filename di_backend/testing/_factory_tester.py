"""``ServiceFactoryTester``: run one service factory with its dependencies, no backend."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar, cast, overload

from di_backend._factories import ServiceFactory
from di_backend._refs import AnyServiceRef, MultitonServiceRef, Scope, ServiceRef
from di_backend._registry import ServiceRegistry, check_not_plugin_metadata
from di_backend.errors import InvalidFeatureError, MissingDependencyError, ServiceNotFoundError
from di_backend.testing._mock_services import default_mock_factories

__all__ = ["ServiceFactoryTester"]

T = TypeVar("T")
U = TypeVar("U")


def _install(
    subject: ServiceFactory[object], dependencies: Iterable[object]
) -> list[ServiceFactory[object]]:
    """The factories in precedence order: mock core services < dependencies < subject.

    For a singleton ref the later factory replaces the earlier one; a
    multiton ref keeps them all (the subject last).
    """
    chosen: dict[str, list[ServiceFactory[object]]] = {}
    given: list[ServiceFactory[object]] = []
    for index, dependency in enumerate(dependencies):
        if not isinstance(dependency, ServiceFactory):
            msg = (
                f"ServiceFactoryTester.create dependencies[{index}] must be a service "
                f"factory, got {dependency!r}"
            )
            raise InvalidFeatureError(msg)
        given.append(cast("ServiceFactory[object]", dependency))
    for factory in [*default_mock_factories(), *given, subject]:
        check_not_plugin_metadata(factory)
        entry = chosen.setdefault(factory.service.id, [])
        if not factory.service.multiton:
            entry.clear()
        if factory not in entry:
            entry.append(factory)
    return [factory for entry in chosen.values() for factory in entry]


class ServiceFactoryTester(Generic[T]):
    """Creates the service of one factory the way a backend would, for unit tests.

    The mock core services (``mock_services.<name>.factory()``) are installed
    as defaults; ``dependencies`` replace them or add services; the subject
    replaces a dependency for the same ref. Root services and root contexts
    are created once per tester and shared by every plugin id. Nothing is
    started: lifecycle hooks do not run.

    Example::

        tester = ServiceFactoryTester.create(todo_store_factory, dependencies=[clock_factory])
        store = await tester.get_subject()                # for plugin "test"
        other = await tester.get_subject(plugin_id="other")

    Args:
        subject: the factory under test.
        dependencies: factories for the services it (transitively) needs.

    Raises:
        InvalidFeatureError: ``subject`` or a dependency is not a service factory.
        ConflictError: a factory for ``core.pluginMetadata``.
        CircularDependencyError: the factories depend on each other in a cycle.
    """

    __slots__ = ("_registry", "_subject")

    def __init__(
        self, subject: ServiceFactory[T], *, dependencies: Iterable[ServiceFactory[object]] = ()
    ) -> None:
        checked: object = subject  # callers without a type checker may pass anything
        if not isinstance(checked, ServiceFactory):
            msg = f"ServiceFactoryTester.create expects a service factory, got {subject!r}"
            raise InvalidFeatureError(msg)
        self._subject: ServiceFactory[object] = subject
        self._registry = ServiceRegistry(_install(subject, dependencies))
        self._registry.check_for_circular_deps()

    def __repr__(self) -> str:
        return f"<ServiceFactoryTester for {self._subject.service}>"

    @classmethod
    def create(
        cls, subject: ServiceFactory[U], *, dependencies: Iterable[ServiceFactory[object]] = ()
    ) -> ServiceFactoryTester[U]:
        """Create a tester for ``subject`` (synchronous; nothing runs yet).

        Args:
            subject: the factory under test.
            dependencies: factories for the services it needs.
        """
        return ServiceFactoryTester(subject, dependencies=dependencies)

    async def _get(self, ref: AnyServiceRef, plugin_id: str) -> object:
        registry = self._registry
        owner = plugin_id if ref.scope is Scope.PLUGIN else None
        problems = registry.missing_for([ref], plugin_id)
        if problems:
            raise MissingDependencyError("\n".join(problems))
        return await registry.container.get(ref, owner)

    async def get_subject(self, plugin_id: str = "test") -> T:
        """Return the subject's service for ``plugin_id`` (ignored for a root service).

        For a multiton ref this is the instance the subject made, not the list.

        Raises:
            MissingDependencyError: a dependency nobody provides, with Backstage's
                ``Failed to instantiate service '<id>' for '<plugin>' because the
                following dependent services are missing: '<dep>'``.
            ServiceInstantiationError: the factory raised (root factory errors
                propagate unchanged).
        """
        ref = self._subject.service
        value = await self._get(ref, plugin_id)
        if ref.multiton:
            factories = self._registry.factories_for(ref)
            value = cast("list[object]", value)[factories.index(self._subject)]
        return cast("T", value)

    @overload
    async def get_service(self, ref: MultitonServiceRef[U], plugin_id: str = "test") -> list[U]: ...
    @overload
    async def get_service(self, ref: ServiceRef[U], plugin_id: str = "test") -> U: ...
    async def get_service(
        self, ref: ServiceRef[U] | MultitonServiceRef[U], plugin_id: str = "test"
    ) -> U | list[U]:
        """Return any service as the subject's dependencies see it, for ``plugin_id``.

        Raises:
            ServiceNotFoundError: nothing provides ``ref`` (``Service '<id>' not found``).
            MissingDependencyError: its factory needs a service nobody provides.
        """
        if not self._registry.is_available(ref):
            msg = f"Service '{ref.id}' not found"
            raise ServiceNotFoundError(msg, (ref.id,))
        return cast("U | list[U]", await self._get(ref, plugin_id))
