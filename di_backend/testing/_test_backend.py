"""``start_test_backend``: a started backend whose core services are mocks."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Generator, Iterable
from types import TracebackType
from typing import Any, Final, TypeAlias, TypeVar, cast

from di_backend._backend import Backend, create_specialized_backend
from di_backend._core_services import core_services
from di_backend._factories import ServiceFactory
from di_backend._features import (
    BackendFeature,
    BackendModule,
    BackendPlugin,
    ModuleRegistrationPoints,
    PluginRegistrationPoints,
)
from di_backend._loaders import resolve_feature
from di_backend._refs import ExtensionPoint
from di_backend.errors import ConflictError, InvalidFeatureError, RegistrationError
from di_backend.testing import _live
from di_backend.testing._mock_http import serving_root_http_router_factory
from di_backend.testing._mock_services import default_mock_factories
from di_backend.testing._test_server import TestBackendImpl

__all__ = ["ExtensionPointImpl", "ExtensionPoints", "StartingTestBackend", "start_test_backend"]

T = TypeVar("T")

EXTENSION_POINT_MODULE_ID: Final = "test-extension-point-registration"
"""The id of the module that registers tested extension points for their plugin."""


class ExtensionPointImpl:
    """A tested extension point and its implementation, checked by the type checker.

    ``start_test_backend(extension_points=[(ref, impl)])`` checks ``impl``
    against ``ref`` when every pair has the same type; wrap each pair in
    ``ExtensionPointImpl(ref, impl)`` to mix extension points of different types.

    Args:
        ref: the extension point.
        impl: what modules that depend on ``ref`` receive (the very object).
    """

    __slots__ = ("_impl", "_ref")

    def __init__(self, ref: ExtensionPoint[T], impl: T) -> None:
        checked: object = ref  # callers without a type checker may pass anything
        if not isinstance(checked, ExtensionPoint):
            msg = f"ExtensionPointImpl expects an extension point first, got {ref!r}"
            raise InvalidFeatureError(msg)
        self._ref: ExtensionPoint[Any] = ref  # the pair was type-checked above
        self._impl: object = impl

    def __repr__(self) -> str:
        return f"ExtensionPointImpl({self._ref}, {self._impl!r})"

    @property
    def id(self) -> str:
        """The extension point's id."""
        return self._ref.id


ExtensionPoints: TypeAlias = Iterable[tuple[ExtensionPoint[T], T] | ExtensionPointImpl]
"""What ``extension_points=`` takes: ``(ref, impl)`` pairs or :class:`ExtensionPointImpl`."""


def _is_pair(item: object) -> bool:
    if not isinstance(item, tuple):
        return False
    members = cast("tuple[object, ...]", item)
    return len(members) == 2 and isinstance(members[0], ExtensionPoint)


def _read_pairs(extension_points: Iterable[object]) -> dict[str, ExtensionPointImpl]:
    pairs: dict[str, ExtensionPointImpl] = {}
    for index, item in enumerate(extension_points):
        if isinstance(item, ExtensionPointImpl):
            pair = item
        elif _is_pair(item):
            ref, impl = cast("tuple[ExtensionPoint[object], object]", item)
            pair = ExtensionPointImpl(ref, impl)
        else:
            msg = (
                f"Invalid item extension_points[{index}]: expected an (extension point, "
                f"implementation) pair or an ExtensionPointImpl, received {item!r}"
            )
            raise InvalidFeatureError(msg)
        if pair.id in pairs:
            msg = (
                f"Extension point '{pair.id}' is given twice in extension_points; a tested "
                "extension point has exactly one implementation"
            )
            raise ConflictError(msg)
        pairs[pair.id] = pair
    return pairs


def _extension_point_modules(
    features: list[BackendFeature], pairs: dict[str, ExtensionPointImpl]
) -> list[BackendModule]:
    """One module per plugin that registers the tested extension points its modules use."""
    unclaimed = dict(pairs)
    by_plugin: dict[str, list[ExtensionPointImpl]] = {}
    for feature in features:
        if not unclaimed:
            break
        if not isinstance(feature, BackendModule):
            continue
        registration = feature.get_registration()
        for ref in registration.init.refs:
            pair = unclaimed.pop(ref.id, None) if isinstance(ref, ExtensionPoint) else None
            if pair is not None:
                by_plugin.setdefault(registration.plugin_id, []).append(pair)
    if unclaimed:
        names = ", ".join(f"'{ref_id}'" for ref_id in unclaimed)
        msg = (
            f"Unable to determine the plugin ID of extension point(s) {names}. "
            "Tested extension points must be depended on by one or more tested modules."
        )
        raise RegistrationError(msg)

    def registrar(plugin_id: str, provided: list[ExtensionPointImpl]) -> BackendModule:
        def register(env: ModuleRegistrationPoints) -> None:
            for pair in provided:
                env.register_extension_point(pair._ref, pair._impl)
            env.register_init(_no_init)

        return BackendModule(plugin_id, EXTENSION_POINT_MODULE_ID, register)

    return [registrar(plugin_id, provided) for plugin_id, provided in by_plugin.items()]


def _no_init() -> None:
    """Do nothing: the init of the plugins and modules a test backend adds."""


def _register_empty_plugin(env: PluginRegistrationPoints) -> None:
    env.register_init(_no_init)


def _plugins_for_orphan_modules(features: list[BackendFeature]) -> list[BackendPlugin]:
    """An empty plugin for each plugin id that only modules were given for."""
    plugin_ids = {f.plugin_id for f in features if isinstance(f, BackendPlugin)}
    orphans = dict.fromkeys(
        f.plugin_id
        for f in features
        if isinstance(f, BackendModule) and f.plugin_id not in plugin_ids
    )
    # The constructor, not create_backend_plugin: module plugin ids are not validated.
    return [BackendPlugin(plugin_id, _register_empty_plugin) for plugin_id in orphans]


@functools.cache
def _test_backend_defaults() -> tuple[ServiceFactory[object], ...]:
    """The mock factories, with the root router that serves on a free port."""
    root_router_id = core_services.root_http_router.id
    return (
        *(f for f in default_mock_factories() if f.service.id != root_router_id),
        serving_root_http_router_factory,
    )


def start_test_backend(
    *,
    features: Iterable[BackendFeature | str] = (),
    extension_points: ExtensionPoints[T] = (),
) -> StartingTestBackend:
    """Start a backend for a test: every core service is a ``mock_services`` fake.

    A service factory in ``features`` replaces the mock for its ref; modules
    whose plugin is not in ``features`` get an empty plugin so that they run;
    each tested extension point is registered for the plugin of the modules
    that depend on it (by a module ``test-extension-point-registration``).
    ``await start_test_backend(...)`` returns the started backend; stop it
    with ``await backend.stop()``. ``async with start_test_backend(...) as
    backend:`` starts it on entry and stops it on exit. A backend a test never
    stops is stopped when the pytest session ends.

    A backend in which a feature uses HTTP (``core_services.http_router``,
    ``root_http_router`` or ``discovery``) serves on 127.0.0.1 with a free
    port: :func:`server_url`, :func:`http_client`. Discovery points
    there; requests without credentials count as the mock user
    (``mock_credentials``).

    Args:
        features: plugins, modules, service factories, feature loaders or import strings.
        extension_points: ``(extension point, implementation)`` pairs or
            :class:`ExtensionPointImpl` objects.

    Returns:
        A :class:`StartingTestBackend`: await it for the started backend, or use
        it with ``async with``.

    Raises:
        RegistrationError: a tested extension point no given module depends on
            (``Unable to determine the plugin ID of extension point(s) 'a'. ...``),
            or a ``register`` callback broke a rule.
        BackendStartupError: a plugin or module failed to start (with Backstage's
            messages; the backend was stopped again).
        InvalidFeatureError: an item is not a feature or not an extension-point pair.
        ConflictError: an extension point is given twice.
    """
    return StartingTestBackend(lambda: _start(features, extension_points))


class StartingTestBackend:
    """What :func:`start_test_backend` returns: awaitable, and an async context manager.

    The backend starts when this is awaited or entered, not before; entering
    and awaiting each start a backend of their own.
    """

    __slots__ = ("_backend", "_start")

    def __init__(self, start: Callable[[], Coroutine[Any, Any, Backend]]) -> None:
        self._start = start
        self._backend: Backend | None = None

    def __await__(self) -> Generator[Any, None, Backend]:
        return self._start().__await__()

    async def __aenter__(self) -> Backend:
        self._backend = await self._start()
        return self._backend

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        backend, self._backend = self._backend, None
        if backend is not None:
            await backend.stop()


async def _start(
    features: Iterable[BackendFeature | str], extension_points: ExtensionPoints[T]
) -> Backend:
    resolved = [resolve_feature(item, f"features[{i}]") for i, item in enumerate(features)]
    pairs = _read_pairs(extension_points)
    added = [
        *_extension_point_modules(resolved, pairs),
        *_plugins_for_orphan_modules(resolved),
    ]
    prototype = create_specialized_backend(default_service_factories=_test_backend_defaults())
    backend = TestBackendImpl(prototype._initializer)
    for feature in [*resolved, *added]:
        backend.add(feature)
    _live.track(backend, backend.stop, asyncio.get_running_loop())
    try:
        await backend.start()
    except BaseException:
        await backend.stop()  # already shut down by start; this only forgets it
        raise
    return backend
