"""The machinery behind ``mock_services.<name>``: a fake, its factory and a recording mock.

Adding a service takes one :class:`MockServiceEntry`: the ref, the interface
the recording mock follows, a function that builds the fake and one that
builds its factory (usually with the same keyword arguments), e.g.::

    discovery = MockServiceEntry(
        core_services.discovery, DiscoveryService, MockDiscovery, _discovery_factory
    )
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Generic, ParamSpec, TypeVar
from unittest.mock import AsyncMock, Mock

from di_backend._factories import ServiceFactory, create_service_factory
from di_backend._refs import ServiceRef
from di_backend.errors import InvalidFeatureError

__all__ = ["MockServiceEntry", "ServiceMock"]

P = ParamSpec("P")
FactoryP = ParamSpec("FactoryP")
FakeT_co = TypeVar("FakeT_co", covariant=True)
ServiceT = TypeVar("ServiceT")


class ServiceMock(Mock, Generic[ServiceT]):
    """A ``unittest.mock.Mock`` with a service's interface as its spec.

    Made by ``mock_services.<name>.mock(**methods)``. Reading a name the
    interface lacks raises ``AttributeError``; every method records its calls;
    methods given to ``mock()`` run the given implementation.

    Attributes:
        factory: a ``ServiceFactory`` that installs exactly this object, for
            ``start_test_backend(features=[...])`` or ``Backend.add``.
    """

    factory: ServiceFactory[ServiceT]

    def _get_child_mock(self, /, **kw: object) -> Mock:
        # Attributes are plain (or async) mocks, not further ServiceMocks.
        child = super()._get_child_mock(**kw)
        return Mock(**kw) if isinstance(child, ServiceMock) else child


def _method_names(spec: object) -> list[str]:
    return sorted(name for name in dir(spec) if not name.startswith("_"))


class MockServiceEntry(Generic[P, FakeT_co, ServiceT, FactoryP]):
    """One entry of ``mock_services``: call it for a fake, ``.factory`` or ``.mock``.

    Args:
        ref: the service ref the factories provide.
        spec: the interface (a ``Protocol``) that ``mock()`` follows.
        create: builds the in-memory fake.
        factory: builds the fake's ``ServiceFactory``; usually the same parameters as
            ``create``, fewer where an option only makes sense for a lone fake (the
            plugin id of ``mock_services.auth()``, say: a factory serves every plugin).
        prepare_mock: adjusts every new recording mock (e.g. ``child`` of a logger).

    Attributes:
        ref: the service ref.
        spec: the interface the recording mocks follow.
        name: the interface's name, used in messages.
    """

    __slots__ = ("_create", "_factory", "_prepare_mock", "name", "ref", "spec")

    def __init__(
        self,
        ref: ServiceRef[ServiceT],
        spec: object,
        create: Callable[P, FakeT_co],
        factory: Callable[FactoryP, ServiceFactory[ServiceT]],
        prepare_mock: Callable[[ServiceMock[ServiceT]], None] | None = None,
    ) -> None:
        self.ref = ref
        self.spec = spec
        self.name = getattr(spec, "__name__", repr(spec))
        self._create = create
        self._factory = factory
        self._prepare_mock = prepare_mock

    def __repr__(self) -> str:
        return f"<mock service for {self.ref}>"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> FakeT_co:
        """Return a new working in-memory fake of the service."""
        return self._create(*args, **kwargs)

    def factory(self, *args: FactoryP.args, **kwargs: FactoryP.kwargs) -> ServiceFactory[ServiceT]:
        """Return a ``ServiceFactory`` for the fake (one fake per backend, or per plugin)."""
        return self._factory(*args, **kwargs)

    def mock(self, **methods: Callable[..., object]) -> ServiceMock[ServiceT]:
        """Return a recording mock of the interface; ``.factory`` installs that very object.

        Args:
            methods: implementations of some methods; each is wrapped in a
                recording mock (an ``AsyncMock`` for ``async`` methods).

        Raises:
            InvalidFeatureError: a name is not a method of the interface.
        """
        allowed = _method_names(self.spec)
        unknown = sorted(set(methods) - set(allowed))
        if unknown:
            names = ", ".join(f"'{name}'" for name in unknown)
            expected = ", ".join(f"'{name}'" for name in allowed)
            msg = (
                f"mock() of {self.ref} got {names}, which {self.name} does not have; "
                f"a mock can only implement the interface's methods: {expected}"
            )
            raise InvalidFeatureError(msg)
        mocked: ServiceMock[ServiceT] = ServiceMock(spec=self.spec)
        if self._prepare_mock is not None:
            self._prepare_mock(mocked)
        for name, implementation in methods.items():
            is_async = inspect.iscoroutinefunction(getattr(self.spec, name))
            wrapper = AsyncMock if is_async else Mock
            setattr(mocked, name, wrapper(side_effect=implementation))
        mocked.factory = create_service_factory(self.ref, lambda: mocked)
        return mocked
