"""``mock_services``: a fake, a factory and a recording mock for every core service."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Final, Protocol, cast

from di_backend._core_services import core_services
from di_backend._factories import ServiceFactory, create_service_factory
from di_backend._inject import inject
from di_backend.config import ObservableConfig
from di_backend.defaults import logger_factory
from di_backend.events._ref import events_service_ref
from di_backend.events._types import EventsService
from di_backend.services import (
    AuthService,
    CacheService,
    ConfigService,
    DatabaseService,
    DiscoveryService,
    HttpAuthService,
    HttpRouterService,
    InstalledPlugin,
    JsonValue,
    LifecycleService,
    LoggerService,
    PluginLifecycleController,
    PluginMetadataService,
    RootConfigService,
    RootHealthService,
    RootHttpRouterService,
    RootInstanceMetadataService,
    RootLifecycleController,
    RootLifecycleService,
    RootLoggerService,
    SchedulerService,
    UserInfoService,
)
from di_backend.testing import _mock_data, _mock_events, _mock_http, _mock_user_info
from di_backend.testing._fakes import MockLifecycle, MockRootInstanceMetadata, MockRootLifecycle
from di_backend.testing._mock_kit import MockServiceEntry, ServiceMock
from di_backend.testing._mock_logger import MockLogger, MockLogLevel

__all__ = ["default_mock_factories", "mock_services"]

_CONTEXT = "mock-config"


# -- root_config ---------------------------------------------------------------


def _root_config(data: Mapping[str, JsonValue] | None = None) -> ObservableConfig:
    return ObservableConfig(data, _CONTEXT)


def _root_config_factory(
    data: Mapping[str, JsonValue] | None = None,
) -> ServiceFactory[RootConfigService]:
    ObservableConfig(data, _CONTEXT)  # reject bad data here, not at backend start
    return create_service_factory(core_services.root_config, lambda: _root_config(data))


# -- root_logger and logger ------------------------------------------------------


def _logger(level: MockLogLevel | None = None) -> MockLogger:
    return MockLogger(level=level or "none")


def _root_logger_factory(level: MockLogLevel | None = None) -> ServiceFactory[RootLoggerService]:
    _logger(level)  # reject a bad level here, not at backend start
    return create_service_factory(core_services.root_logger, lambda: _logger(level))


def _logger_factory(level: MockLogLevel | None = None) -> ServiceFactory[LoggerService]:
    if level is None:
        return logger_factory  # the root logger's child: it shares the root's records
    _logger(level)

    def plugin_logger(
        metadata: PluginMetadataService = inject(core_services.plugin_metadata),
    ) -> LoggerService:
        return _logger(level).child(plugin=metadata.get_id())

    return create_service_factory(core_services.logger, plugin_logger)


def _prepare_logger_mock(mocked: ServiceMock[LoggerService]) -> None:
    children: list[ServiceMock[LoggerService]] = []

    def child(**fields: object) -> LoggerService:
        if not children:
            children.append(mock_services.logger.mock())
        return children[0]

    mocked.child.side_effect = child


# -- lifecycles ---------------------------------------------------------------------


class MockableRootLifecycle(RootLifecycleService, RootLifecycleController, Protocol):
    """The root lifecycle interface plus the controls the backend calls."""


class MockableLifecycle(LifecycleService, PluginLifecycleController, Protocol):
    """The plugin lifecycle interface plus the controls the backend calls."""


def _root_lifecycle_factory(
    logger: LoggerService | None = None,
) -> ServiceFactory[RootLifecycleService]:
    if logger is not None:
        fixed = logger
        return create_service_factory(
            core_services.root_lifecycle, lambda: MockRootLifecycle(fixed)
        )

    def root_lifecycle(
        root_logger: RootLoggerService = inject(core_services.root_logger),
    ) -> RootLifecycleService:
        return MockRootLifecycle(root_logger)

    return create_service_factory(core_services.root_lifecycle, root_lifecycle)


def _lifecycle_factory(logger: LoggerService | None = None) -> ServiceFactory[LifecycleService]:
    if logger is not None:
        fixed = logger
        return create_service_factory(core_services.lifecycle, lambda: MockLifecycle(fixed))

    def lifecycle(plugin_logger: LoggerService = inject(core_services.logger)) -> LifecycleService:
        return MockLifecycle(plugin_logger)

    return create_service_factory(core_services.lifecycle, lifecycle)


# -- root_instance_metadata ---------------------------------------------------------


def _instance_metadata_factory(
    plugins: Iterable[InstalledPlugin] = (),
) -> ServiceFactory[RootInstanceMetadataService]:
    installed = tuple(plugins)
    return create_service_factory(
        core_services.root_instance_metadata, lambda: MockRootInstanceMetadata(installed)
    )


class mock_services:
    """Fakes of the core services: ``mock_services.<name>`` for all but ``plugin_metadata``.

    Each entry is used three ways (the first two take the same keyword
    arguments, but for options only a lone fake needs, such as ``plugin_id``):

    * ``mock_services.root_config(data={...})``: a working in-memory fake;
    * ``mock_services.root_config.factory(data={...})``: its ``ServiceFactory``,
      to replace the default in ``start_test_backend(features=[...])``;
    * ``mock_services.logger.mock(info=...)``: a recording
      ``unittest.mock.Mock`` with the service's interface as its spec, whose
      ``.factory`` installs exactly that object.

    ``start_test_backend`` and ``ServiceFactoryTester`` use every
    ``.factory()`` as their defaults (``start_test_backend`` with a root HTTP
    router of its own, served on 127.0.0.1 with a free port).
    """

    root_config: Final = MockServiceEntry(
        core_services.root_config, ConfigService, _root_config, _root_config_factory
    )
    """An :class:`~di_backend.config.ObservableConfig` over ``data``.

    ``update(data=...)`` replaces the data and calls subscribers only on a real
    change; ``subscribe`` works on the root and on sub-configs; required reads
    of missing or mistyped keys raise.
    """

    root_logger: Final = MockServiceEntry(
        core_services.root_logger,
        LoggerService,
        _logger,
        _root_logger_factory,
        _prepare_logger_mock,
    )
    """A :class:`MockLogger` (``level`` decides what is also printed; default ``"none"``)."""

    logger: Final = MockServiceEntry(
        core_services.logger, LoggerService, _logger, _logger_factory, _prepare_logger_mock
    )
    """A :class:`MockLogger`; ``.factory()`` makes each plugin's logger a child of the root
    logger (sharing its records), ``.factory(level=...)`` gives each plugin its own."""

    root_lifecycle: Final = MockServiceEntry(
        core_services.root_lifecycle,
        MockableRootLifecycle,
        MockRootLifecycle,
        _root_lifecycle_factory,
    )
    """A :class:`MockRootLifecycle`; its hooks run when a test backend starts and stops."""

    lifecycle: Final = MockServiceEntry(
        core_services.lifecycle, MockableLifecycle, MockLifecycle, _lifecycle_factory
    )
    """A :class:`MockLifecycle`; its hooks run when its plugin starts and at stop."""

    root_instance_metadata: Final = MockServiceEntry(
        core_services.root_instance_metadata,
        RootInstanceMetadataService,
        MockRootInstanceMetadata,
        _instance_metadata_factory,
    )
    """A :class:`MockRootInstanceMetadata` reporting ``plugins`` (default: none).

    As a default a backend replaces it with the real list of installed
    features; added explicitly, it replaces that list.
    """

    # -- HTTP, health, discovery and auth -------------------------------------------

    root_http_router: Final = MockServiceEntry(
        core_services.root_http_router,
        RootHttpRouterService,
        _mock_http.root_http_router,
        _mock_http.root_http_router_factory,
    )
    """The default root router, not served: an ASGI app (``health=`` adds health endpoints).

    ``.factory()`` serves nothing either (plugins mount on it, the backend's
    health endpoints answer in memory); a test backend that gets it, or a
    ``.mock()``, has no server: ``backend.server_url`` raises
    ``TestBackend server is not available``. ``start_test_backend`` uses its
    own root router, served on 127.0.0.1 with a free port.
    """

    root_health: Final = MockServiceEntry(
        core_services.root_health,
        RootHealthService,
        _mock_http.root_health,
        _mock_http.root_health_factory,
    )
    """The default health service; ``.factory()`` is ready once the backend started."""

    http_router: Final = MockServiceEntry(
        core_services.http_router,
        HttpRouterService,
        _mock_http.http_router,
        _mock_http.http_router_factory,
    )
    """A started plugin router over the mock auth services (``plugin_id="test"``): an ASGI app.

    ``.factory()`` is the default plugin router at ``/api/<plugin_id>``, made
    only for plugins that use it.
    """

    discovery: Final = MockServiceEntry(
        core_services.discovery,
        DiscoveryService,
        _mock_http.discovery,
        _mock_http.discovery_factory,
    )
    """A :class:`MockDiscovery`: ``<base_url>/api/<plugin_id>`` (default ``http://localhost:0``).

    ``.factory()`` points at the test server when there is one (and starts it
    in a test backend); ``.factory(base_url=...)`` anywhere you like.
    """

    auth: Final = MockServiceEntry(
        core_services.auth, AuthService, _mock_http.auth, _mock_http.auth_factory
    )
    """A :class:`MockAuth` (``plugin_id="test"``, ``disable_default_auth_policy=False``).

    It accepts the tokens of ``mock_credentials`` and issues mock service
    tokens; ``.factory()`` makes one per plugin and reads
    ``backend.auth.dangerouslyDisableDefaultAuthPolicy``.
    """

    http_auth: Final = MockServiceEntry(
        core_services.http_auth,
        HttpAuthService,
        _mock_http.http_auth,
        _mock_http.http_auth_factory,
    )
    """A :class:`MockHttpAuth`: bearer mock tokens; no token counts as ``default_credentials``.

    ``default_credentials`` defaults to ``mock_credentials.user()``, as in
    Backstage; send ``mock_credentials.none.header()`` (or pass
    ``default_credentials=mock_credentials.none()``) for anonymous requests.
    """

    user_info: Final = MockServiceEntry(
        core_services.user_info,
        UserInfoService,
        _mock_user_info.user_info,
        _mock_user_info.user_info_factory,
    )
    """A :class:`MockUserInfo`: the user from the credentials; ownership the user alone.

    ``ownership_entity_refs=[...]`` gives every user those refs instead.
    """

    events: Final = MockServiceEntry(
        events_service_ref, EventsService, _mock_events.events, _mock_events.events_factory
    )
    """A :class:`MockEventsService`: records ``published`` and delivers to subscribers.

    ``.factory()`` gives every plugin of the backend the same one, so plugins
    under test see each other's events.
    """

    # -- data services ------------------------------------------------------------------

    database: Final = MockServiceEntry(
        core_services.database,
        DatabaseService,
        _mock_data.database,
        _mock_data.database_factory,
    )
    """A :class:`MockDatabase` over ``engine`` (default: its own in-memory SQLite engine).

    ``.factory()`` is the real database factory (in-memory SQLite per plugin,
    or what ``backend.database`` says); ``.factory(engine=...)`` gives every
    plugin that engine, e.g. a fresh PostgreSQL database from ``TestDatabases``.
    """

    cache: Final = MockServiceEntry(
        core_services.cache, CacheService, _mock_data.cache, _mock_data.cache_factory
    )
    """A cache on its own memory store; ``.factory()`` is the real cache factory."""

    scheduler: Final = MockServiceEntry(
        core_services.scheduler,
        SchedulerService,
        _mock_data.scheduler,
        _mock_data.scheduler_factory,
    )
    """A :class:`MockSchedulerService`: tasks run when triggered.

    ``.factory()`` makes one per plugin that runs every scheduled task once at
    the plugin's startup, except manual ones and ones with an initial delay
    (``include_manual_tasks_on_startup=True``,
    ``include_initial_delayed_tasks_on_startup=True`` add them;
    ``skip_task_run_on_startup=True`` runs none).
    """


def mock_service_entries() -> dict[str, MockServiceEntry[[], object, object, []]]:
    """Every ``mock_services`` entry by attribute name."""
    return {
        name: cast("MockServiceEntry[[], object, object, []]", value)
        for name, value in vars(mock_services).items()
        if isinstance(value, MockServiceEntry)
    }


@functools.cache
def default_mock_factories() -> tuple[ServiceFactory[object], ...]:
    """The ``.factory()`` of every ``mock_services`` entry (built once; factories are inert)."""
    return tuple(entry.factory() for entry in mock_service_entries().values())
