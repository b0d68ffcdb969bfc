"""The default service factories of the HTTP, health, discovery and auth services."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from di_backend._core_services import core_services
from di_backend._factories import ServiceFactory, create_service_factory
from di_backend._inject import inject
from di_backend.http._auth import DefaultAuthService
from di_backend.http._auth_policies import CredentialsBarrier
from di_backend.http._config_reading import read_duration, read_listen_options
from di_backend.http._db_keys import DatabaseKeyPublisher, read_key_store_type, uses_process_memory
from di_backend.http._discovery import HostDiscovery
from di_backend.http._external_access import ExternalTokenHandler
from di_backend.http._health import DefaultRootHealthService, read_health_headers
from di_backend.http._http_auth import DefaultHttpAuthService
from di_backend.http._jwks_client import JwksCache
from di_backend.http._keys import KeyStore
from di_backend.http._lifecycle_gate import DEFAULT_STARTUP_REQUEST_PAUSE_TIMEOUT, LifecycleGate
from di_backend.http._plugin_router import DefaultHttpRouter
from di_backend.http._plugin_tokens import PluginTokenHandler
from di_backend.http._protocol import read_server_limits
from di_backend.http._root_router import DefaultRootHttpRouter
from di_backend.http._server import HttpServer
from di_backend.http._static_keys import read_static_key_store
from di_backend.http._user_info import DefaultUserInfoService
from di_backend.services import (
    LifecycleService,
    LoggerService,
    PluginMetadataService,
    RootConfigService,
    RootInstanceMetadataService,
    RootLifecycleService,
    RootLoggerService,
)
from di_backend.services._database import DatabaseService
from di_backend.services._http import (
    AuthService,
    DiscoveryService,
    HttpAuthService,
    HttpRouterService,
    RootHealthService,
    RootHttpRouterService,
)
from di_backend.services._user_info import UserInfoService

__all__ = [
    "auth_factory",
    "discovery_factory",
    "http_auth_factory",
    "http_router_factory",
    "http_service_factories",
    "root_health_factory",
    "root_http_router_factory",
    "user_info_factory",
]

_DISABLE_POLICY = "backend.auth.dangerouslyDisableDefaultAuthPolicy"


def _root_health(
    lifecycle: RootLifecycleService = inject(core_services.root_lifecycle),
) -> RootHealthService:
    health = DefaultRootHealthService()
    lifecycle.add_startup_hook(health.mark_started)
    lifecycle.add_before_shutdown_hook(health.mark_shutting_down)
    return health


root_health_factory = create_service_factory(core_services.root_health, _root_health)
"""Readiness follows the root lifecycle: ready after startup, not ready once stopping."""


async def _root_http_router(
    config: RootConfigService = inject(core_services.root_config),
    lifecycle: RootLifecycleService = inject(core_services.root_lifecycle),
    health: RootHealthService = inject(core_services.root_health),
    logger: RootLoggerService = inject(core_services.root_logger),
) -> RootHttpRouterService:
    # Every setting is read (and checked) before the server binds its socket, so a bad
    # value is a config error that leaves nothing listening.
    listen = read_listen_options(config)
    shutdown_timeout = read_duration(
        config, "backend.lifecycle.serverShutdownTimeout", timedelta(seconds=30)
    )
    delay = read_duration(config, "backend.lifecycle.serverShutdownDelay", timedelta(0))
    limits = read_server_limits(config)
    router_logger = logger.child(service="rootHttpRouter")
    router = DefaultRootHttpRouter(
        health=health, health_headers=read_health_headers(config), logger=router_logger
    )
    server = HttpServer(
        router.asgi_entry,
        listen,
        shutdown_timeout=shutdown_timeout,
        logger=router_logger,
        limits=limits,
    )
    # The server starts now, before plugins initialise (as in Backstage): readiness
    # and each plugin's lifecycle gate answer the requests that come in early.
    await server.start()
    router.attach_server(server)
    if delay > timedelta(0):

        async def pause() -> None:
            await asyncio.sleep(delay.total_seconds())

        lifecycle.add_before_shutdown_hook(pause)
    lifecycle.add_shutdown_hook(server.stop)
    return router


root_http_router_factory = create_service_factory(core_services.root_http_router, _root_http_router)
"""Serve the backend on ``backend.listen`` (default port 7007) with uvicorn."""


def _discovery_context(
    config: RootConfigService = inject(core_services.root_config),
    root_router: RootHttpRouterService = inject(core_services.root_http_router),
    logger: RootLoggerService = inject(core_services.root_logger),
    lifecycle: RootLifecycleService = inject(core_services.root_lifecycle),
) -> DiscoveryService:
    listen_address = None
    if isinstance(root_router, DefaultRootHttpRouter) and root_router.server is not None:
        listen_address = root_router.listen_address
    discovery = HostDiscovery(config, listen_address=listen_address, logger=logger)
    lifecycle.add_shutdown_hook(discovery.close)
    return discovery


def _discovery(shared: DiscoveryService) -> DiscoveryService:
    return shared


discovery_factory = create_service_factory(
    core_services.discovery, _discovery, create_root_context=_discovery_context
)
"""``HostDiscovery`` over the configuration and the real address of the local server."""


@dataclass(frozen=True, slots=True)
class AuthContext:
    """What every plugin's auth service of one backend shares.

    Attributes:
        keys: the backend's signing keys.
        plugin_tokens: issues and verifies plugin tokens.
        external_tokens: the static external access tokens.
        disable_default_auth_policy: ``backend.auth.dangerouslyDisableDefaultAuthPolicy``.
        key_store_type: ``backend.auth.pluginKeyStore.type``.
    """

    keys: KeyStore
    plugin_tokens: PluginTokenHandler
    external_tokens: ExternalTokenHandler
    disable_default_auth_policy: bool
    key_store_type: str = "database"


def _installed_ids(
    instance: RootInstanceMetadataService,
) -> Callable[[], Awaitable[frozenset[str]]]:
    async def installed() -> frozenset[str]:
        return frozenset(p.plugin_id for p in await instance.get_installed_plugins())

    return installed


def _auth_context(
    config: RootConfigService = inject(core_services.root_config),
    lifecycle: RootLifecycleService = inject(core_services.root_lifecycle),
    instance: RootInstanceMetadataService = inject(core_services.root_instance_metadata),
) -> AuthContext:
    key_store_type = read_key_store_type(config)
    keys = read_static_key_store(config) if key_store_type == "static" else KeyStore()
    jwks = JwksCache()
    lifecycle.add_shutdown_hook(jwks.aclose)
    return AuthContext(
        keys=keys,
        plugin_tokens=PluginTokenHandler(keys, jwks, installed=_installed_ids(instance)),
        external_tokens=ExternalTokenHandler.from_config(config, jwks_cache=jwks),
        disable_default_auth_policy=bool(config.get_optional_boolean(_DISABLE_POLICY)),
        key_store_type=key_store_type,
    )


def _auth(
    context: AuthContext,
    metadata: PluginMetadataService = inject(core_services.plugin_metadata),
    discovery: DiscoveryService = inject(core_services.discovery),
    database: DatabaseService = inject(core_services.database),
    logger: LoggerService = inject(core_services.logger),
) -> AuthService:
    publisher = None
    if context.key_store_type == "database" and not uses_process_memory(database):
        publisher = DatabaseKeyPublisher(database)
    return DefaultAuthService(
        metadata.get_id(),
        keys=context.keys,
        plugin_tokens=context.plugin_tokens,
        external_tokens=context.external_tokens,
        discovery=discovery,
        disable_default_auth_policy=context.disable_default_auth_policy,
        key_publisher=publisher,
        logger=logger,
    )


auth_factory = create_service_factory(core_services.auth, _auth, create_root_context=_auth_context)
"""Backstage's tokens: plugin tokens (ES256), user tokens of the auth backend, external access.

With ``backend.auth.pluginKeyStore.type: database`` (the default) the public keys
go into each plugin's database, so replicas verify each other's tokens.
"""


def _http_auth(auth: AuthService = inject(core_services.auth)) -> HttpAuthService:
    return DefaultHttpAuthService(auth)


http_auth_factory = create_service_factory(core_services.http_auth, _http_auth)
"""Reads ``Authorization: Bearer`` tokens of incoming requests."""


def _http_router(
    *,
    root_router: RootHttpRouterService = inject(core_services.root_http_router),
    auth: AuthService = inject(core_services.auth),
    http_auth: HttpAuthService = inject(core_services.http_auth),
    lifecycle: LifecycleService = inject(core_services.lifecycle),
    metadata: PluginMetadataService = inject(core_services.plugin_metadata),
    config: RootConfigService = inject(core_services.root_config),
    logger: LoggerService = inject(core_services.logger),
) -> HttpRouterService:
    plugin_id = metadata.get_id()
    gate = LifecycleGate(
        plugin_id,
        read_duration(
            config,
            "backend.lifecycle.startupRequestPauseTimeout",
            DEFAULT_STARTUP_REQUEST_PAUSE_TIMEOUT,
        ),
    )
    lifecycle.add_startup_hook(gate.mark_started)
    lifecycle.add_shutdown_hook(gate.mark_shutting_down)
    barrier = CredentialsBarrier(
        plugin_id, http_auth, disabled=bool(config.get_optional_boolean(_DISABLE_POLICY))
    )
    router = DefaultHttpRouter(
        plugin_id,
        auth=auth,
        gate=gate,
        barrier=barrier,
        logger=logger,
        http_auth=http_auth,
        resolve=getattr(metadata, "_resolve_service", None),  # the backend's own metadata
    )
    root_router.use(router.base_path, router)
    return router


http_router_factory = create_service_factory(
    core_services.http_router, _http_router, initialization="always"
)
"""Mount the plugin's router at ``/api/<plugin_id>``; created for every plugin."""


def _user_info(discovery: DiscoveryService = inject(core_services.discovery)) -> UserInfoService:
    return DefaultUserInfoService(discovery)


user_info_factory = create_service_factory(core_services.user_info, _user_info)
"""The user token's ``sub`` and ``ent``, or the auth backend's ``/v1/userinfo``."""


http_service_factories: tuple[ServiceFactory[object], ...] = (
    root_health_factory,
    root_http_router_factory,
    discovery_factory,
    auth_factory,
    http_auth_factory,
    http_router_factory,
    user_info_factory,
)
"""Every default factory of this package, e.g. for ``create_specialized_backend``."""
