"""``core_services``: the refs of the services every backend knows."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

from di_backend._refs import ServiceRef, create_service_ref

if TYPE_CHECKING:
    from di_backend._factories import ServiceFactory
    from di_backend.services import (
        AuthService,
        CacheService,
        DatabaseService,
        DiscoveryService,
        HttpAuthService,
        HttpRouterService,
        LifecycleService,
        LoggerService,
        PluginMetadataService,
        RootConfigService,
        RootHealthService,
        RootHttpRouterService,
        RootInstanceMetadataService,
        RootLifecycleService,
        RootLoggerService,
        SchedulerService,
        UserInfoService,
    )

T = TypeVar("T")

__all__ = ["core_services"]

_HTTP = "di_backend.http._factories"
_DATABASE = "di_backend.database._factories"
_CACHE = "di_backend.cache._factories"
_SCHEDULER = "di_backend.scheduler._factories"


def _default(
    name: str, module: str = "di_backend.defaults._factories"
) -> Callable[[ServiceRef[Any]], ServiceFactory[Any]]:
    """A ``default_factory`` that imports its module only when needed."""

    def load(ref: ServiceRef[Any]) -> ServiceFactory[Any]:
        factory: ServiceFactory[Any] = getattr(importlib.import_module(module), name)
        return factory

    load.__qualname__ = f"default_factory[{name}]"
    return load


class core_services:
    """The refs of the core services (``core_services.logger`` and so on).

    The lifecycle, logger and config refs carry a ``default_factory``, so a
    backend made with ``create_specialized_backend([])`` still runs hooks,
    logs and reads (empty) configuration; ``create_backend()`` installs the
    full defaults (config files, environment overrides).
    """

    root_config: Final[ServiceRef[RootConfigService]] = create_service_ref(
        id="core.rootConfig", scope="root", default_factory=_default("empty_root_config_factory")
    )
    """The backend's configuration (root)."""
    root_logger: Final[ServiceRef[RootLoggerService]] = create_service_ref(
        id="core.rootLogger", scope="root", default_factory=_default("root_logger_factory")
    )
    """The backend-wide logger (root)."""
    logger: Final[ServiceRef[LoggerService]] = create_service_ref(
        id="core.logger", default_factory=_default("logger_factory")
    )
    """A logger with a ``plugin`` field (plugin)."""
    root_lifecycle: Final[ServiceRef[RootLifecycleService]] = create_service_ref(
        id="core.rootLifecycle",
        scope="root",
        default_factory=_default("root_lifecycle_factory"),
    )
    """Backend-wide startup, before-shutdown and shutdown hooks (root)."""
    lifecycle: Final[ServiceRef[LifecycleService]] = create_service_ref(
        id="core.lifecycle", default_factory=_default("lifecycle_factory")
    )
    """Startup and shutdown hooks of one plugin (plugin)."""
    plugin_metadata: Final[ServiceRef[PluginMetadataService]] = create_service_ref(
        id="core.pluginMetadata"
    )
    """The id of the plugin a service is created for (plugin; cannot be overridden)."""
    root_instance_metadata: Final[ServiceRef[RootInstanceMetadataService]] = create_service_ref(
        id="core.rootInstanceMetadata", scope="root"
    )
    """The plugins and modules installed in this backend (root; provided by the backend)."""
    root_http_router: Final[ServiceRef[RootHttpRouterService]] = create_service_ref(
        id="core.rootHttpRouter",
        scope="root",
        default_factory=_default("root_http_router_factory", _HTTP),
    )
    """The backend's HTTP server and root router (root)."""
    root_health: Final[ServiceRef[RootHealthService]] = create_service_ref(
        id="core.rootHealth", scope="root", default_factory=_default("root_health_factory", _HTTP)
    )
    """Liveness and readiness (root)."""
    http_router: Final[ServiceRef[HttpRouterService]] = create_service_ref(
        id="core.httpRouter", default_factory=_default("http_router_factory", _HTTP)
    )
    """The plugin's routes at ``/api/<plugin_id>`` (plugin)."""
    discovery: Final[ServiceRef[DiscoveryService]] = create_service_ref(
        id="core.discovery", default_factory=_default("discovery_factory", _HTTP)
    )
    """Base URLs of plugins, local or in other backends (plugin)."""
    auth: Final[ServiceRef[AuthService]] = create_service_ref(
        id="core.auth", default_factory=_default("auth_factory", _HTTP)
    )
    """Token checks and plugin-to-plugin service tokens (plugin)."""
    http_auth: Final[ServiceRef[HttpAuthService]] = create_service_ref(
        id="core.httpAuth", default_factory=_default("http_auth_factory", _HTTP)
    )
    """Credentials of incoming requests (plugin)."""
    user_info: Final[ServiceRef[UserInfoService]] = create_service_ref(
        id="core.userInfo", default_factory=_default("user_info_factory", _HTTP)
    )
    """The user and ownership refs of user credentials (plugin)."""
    database: Final[ServiceRef[DatabaseService]] = create_service_ref(
        id="core.database", default_factory=_default("database_factory", _DATABASE)
    )
    """The plugin's own SQLAlchemy ``AsyncEngine`` (plugin; in-memory SQLite by default)."""
    cache: Final[ServiceRef[CacheService]] = create_service_ref(
        id="core.cache", default_factory=_default("cache_factory", _CACHE)
    )
    """The plugin's private key-value cache (plugin; in memory by default)."""
    scheduler: Final[ServiceRef[SchedulerService]] = create_service_ref(
        id="core.scheduler", default_factory=_default("scheduler_factory", _SCHEDULER)
    )
    """Scheduled tasks, once per period across replicas (plugin)."""
