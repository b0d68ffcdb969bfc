"""The fakes and factories behind the HTTP entries of ``mock_services``, and the test server.

:mod:`di_backend.http` (Starlette, uvicorn) is imported only when one of them
is built, so ``import di_backend.testing`` and backends without HTTP stay light.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from di_backend._core_services import core_services
from di_backend._factories import ServiceFactory, create_service_factory
from di_backend._inject import inject
from di_backend.services import (
    LifecycleService,
    LoggerService,
    PluginMetadataService,
    RootConfigService,
    RootLifecycleService,
    RootLoggerService,
)
from di_backend.services._credentials import BackstageCredentials, BackstagePrincipal
from di_backend.services._http import (
    AuthService,
    DiscoveryService,
    HttpAuthService,
    HttpRouterService,
    RootHealthService,
    RootHttpRouterService,
)
from di_backend.testing._mock_auth import MockAuth, MockHttpAuth

if TYPE_CHECKING:
    from di_backend.http import DefaultHttpRouter, DefaultRootHealthService, DefaultRootHttpRouter

__all__ = [
    "NO_SERVER_BASE_URL",
    "TEST_SERVER_HOST",
    "MockDiscovery",
    "served_base_url",
    "serving_root_http_router_factory",
]

TEST_SERVER_HOST: Final = "127.0.0.1"
"""Where a test backend serves HTTP (on a free port)."""

NO_SERVER_BASE_URL: Final = "http://localhost:0"
"""Where the mock discovery points when there is no test server: nowhere reachable."""

_DISABLE_POLICY = "backend.auth.dangerouslyDisableDefaultAuthPolicy"
_SHUTDOWN_TIMEOUT = timedelta(seconds=5)


class MockDiscovery:
    """A ``DiscoveryService`` that puts every plugin at ``<base_url>/api/<plugin_id>``.

    Internal and external URLs are the same. The default base URL,
    ``http://localhost:0``, is unreachable, so requests a test forgot to mock fail.

    Args:
        base_url: the backend's base URL (a trailing ``/`` is dropped).
    """

    __slots__ = ("_base_url",)

    def __init__(self, base_url: str = NO_SERVER_BASE_URL) -> None:
        self._base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"MockDiscovery({self._base_url!r})"

    @property
    def base_url(self) -> str:
        """The backend's base URL."""
        return self._base_url

    async def get_base_url(self, plugin_id: str) -> str:
        """Return ``<base_url>/api/<plugin_id>``."""
        return f"{self._base_url}/api/{plugin_id}"

    async def get_external_base_url(self, plugin_id: str) -> str:
        """Return ``<base_url>/api/<plugin_id>`` (the same as the internal URL)."""
        return f"{self._base_url}/api/{plugin_id}"


def served_base_url(router: object) -> str | None:
    """Return ``http://<host>:<port>`` if ``router`` is a root router with a running server."""
    from di_backend.http import DefaultRootHttpRouter
    from di_backend.http._server import display_host

    if not isinstance(router, DefaultRootHttpRouter):
        return None
    server = router.server
    if server is None or not server.started:
        return None
    return f"http://{display_host(server.host)}:{server.port}"


# -- root_http_router ----------------------------------------------------------------


def root_http_router(*, health: RootHealthService | None = None) -> DefaultRootHttpRouter:
    """Return the default root router without a server: an ASGI app to call in memory."""
    from di_backend.http import DefaultRootHttpRouter

    return DefaultRootHttpRouter(health=health)


def _in_memory_root_router(
    health: RootHealthService = inject(core_services.root_health),
    logger: RootLoggerService = inject(core_services.root_logger),
) -> RootHttpRouterService:
    from di_backend.http import DefaultRootHttpRouter

    return DefaultRootHttpRouter(health=health, logger=logger.child(service="rootHttpRouter"))


def root_http_router_factory() -> ServiceFactory[RootHttpRouterService]:
    """The default root router with the backend's health endpoints, served by nothing."""
    return create_service_factory(
        core_services.root_http_router, _in_memory_root_router, initialization="lazy"
    )


async def _serve_root_router(
    health: RootHealthService = inject(core_services.root_health),
    logger: RootLoggerService = inject(core_services.root_logger),
) -> AsyncIterator[RootHttpRouterService]:
    from di_backend.http import DefaultRootHttpRouter, HttpServer, ListenOptions

    router_logger = logger.child(service="rootHttpRouter")
    router = DefaultRootHttpRouter(health=health, logger=router_logger)
    server = HttpServer(
        router,
        ListenOptions(TEST_SERVER_HOST, 0),
        shutdown_timeout=_SHUTDOWN_TIMEOUT,
        logger=router_logger,
    )
    await server.start()
    router.attach_server(server)
    try:
        yield router
    finally:
        await server.stop()


serving_root_http_router_factory: Final = create_service_factory(
    core_services.root_http_router, _serve_root_router, initialization="lazy"
)
"""``start_test_backend``'s root router: served on 127.0.0.1 with a free port.

Lazy: the server starts only when a feature uses HTTP (the root router, a
plugin router or discovery), and stops when the backend stops.
"""


# -- root_health ---------------------------------------------------------------------


def root_health() -> DefaultRootHealthService:
    """Return the default health service: not ready until ``mark_started()``."""
    from di_backend.http import DefaultRootHealthService

    return DefaultRootHealthService()


def _lifecycle_health(
    lifecycle: RootLifecycleService = inject(core_services.root_lifecycle),
) -> RootHealthService:
    from di_backend.http._factories import _root_health

    return _root_health(lifecycle)


def root_health_factory() -> ServiceFactory[RootHealthService]:
    """The default health service, whose readiness follows the root lifecycle."""
    return create_service_factory(
        core_services.root_health, _lifecycle_health, initialization="lazy"
    )


# -- http_router ---------------------------------------------------------------------


def http_router(*, plugin_id: str = "test") -> DefaultHttpRouter:
    """Return a plugin router over the mock auth services, started: an ASGI app."""
    from di_backend.http import CredentialsBarrier, DefaultHttpRouter, LifecycleGate

    gate = LifecycleGate(plugin_id)
    gate.mark_started()
    http_auth = MockHttpAuth(plugin_id)
    barrier = CredentialsBarrier(plugin_id, http_auth)
    return DefaultHttpRouter(
        plugin_id, auth=MockAuth(plugin_id), gate=gate, barrier=barrier, http_auth=http_auth
    )


def _plugin_router(
    *,
    root_router: RootHttpRouterService = inject(core_services.root_http_router),
    auth: AuthService = inject(core_services.auth),
    http_auth: HttpAuthService = inject(core_services.http_auth),
    lifecycle: LifecycleService = inject(core_services.lifecycle),
    metadata: PluginMetadataService = inject(core_services.plugin_metadata),
    config: RootConfigService = inject(core_services.root_config),
    logger: LoggerService = inject(core_services.logger),
) -> HttpRouterService:
    from di_backend.http._factories import _http_router

    return _http_router(
        root_router=root_router,
        auth=auth,
        http_auth=http_auth,
        lifecycle=lifecycle,
        metadata=metadata,
        config=config,
        logger=logger,
    )


def http_router_factory() -> ServiceFactory[HttpRouterService]:
    """The default plugin router, created only for plugins that use it (``lazy``)."""
    return create_service_factory(core_services.http_router, _plugin_router, initialization="lazy")


# -- discovery -----------------------------------------------------------------------


def discovery(*, base_url: str = NO_SERVER_BASE_URL) -> MockDiscovery:
    """Return a :class:`MockDiscovery` (by default at the unreachable ``http://localhost:0``)."""
    return MockDiscovery(base_url)


def _test_server_discovery(
    root_router: RootHttpRouterService = inject(core_services.root_http_router),
) -> DiscoveryService:
    return MockDiscovery(served_base_url(root_router) or NO_SERVER_BASE_URL)


def discovery_factory(*, base_url: str | None = None) -> ServiceFactory[DiscoveryService]:
    """A discovery at ``base_url``; by default at the test server, else ``http://localhost:0``."""
    if base_url is None:
        return create_service_factory(core_services.discovery, _test_server_discovery)
    fixed = MockDiscovery(base_url)  # one immutable object serves every plugin
    return create_service_factory(core_services.discovery, lambda: fixed)


# -- auth and http_auth --------------------------------------------------------------


def auth(*, plugin_id: str = "test", disable_default_auth_policy: bool = False) -> MockAuth:
    """Return a :class:`MockAuth` for ``plugin_id``."""
    return MockAuth(plugin_id, disable_default_auth_policy=disable_default_auth_policy)


def _plugin_auth(
    metadata: PluginMetadataService = inject(core_services.plugin_metadata),
    config: RootConfigService = inject(core_services.root_config),
) -> AuthService:
    disabled = bool(config.get_optional_boolean(_DISABLE_POLICY))
    return MockAuth(metadata.get_id(), disable_default_auth_policy=disabled)


def auth_factory() -> ServiceFactory[AuthService]:
    """A :class:`MockAuth` per plugin; the policy switch comes from the root config."""
    return create_service_factory(core_services.auth, _plugin_auth)


def http_auth(
    *,
    plugin_id: str = "test",
    default_credentials: BackstageCredentials[BackstagePrincipal] | None = None,
) -> MockHttpAuth:
    """Return a :class:`MockHttpAuth` for ``plugin_id``."""
    return MockHttpAuth(plugin_id, default_credentials)


def http_auth_factory(
    *, default_credentials: BackstageCredentials[BackstagePrincipal] | None = None
) -> ServiceFactory[HttpAuthService]:
    """A :class:`MockHttpAuth` per plugin; requests without any get ``default_credentials``."""

    def plugin_http_auth(
        metadata: PluginMetadataService = inject(core_services.plugin_metadata),
    ) -> HttpAuthService:
        return MockHttpAuth(metadata.get_id(), default_credentials)

    return create_service_factory(core_services.http_auth, plugin_http_auth)
