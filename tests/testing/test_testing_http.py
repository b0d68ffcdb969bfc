"""Tests for the test server of ``start_test_backend``: routes, credentials, discovery, port."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend import (
    BackendPlugin,
    BackendStartupError,
    PluginRegistrationPoints,
    ServiceFactory,
    core_services,
    create_backend_plugin,
    create_specialized_backend,
    inject,
)
from di_backend.errors import BackendStateError
from di_backend.services import (
    AuthService,
    DiscoveryService,
    HttpAuthService,
    HttpRouterService,
    LoggerService,
    RootHttpRouterService,
)
from di_backend.testing import (
    AsyncTestBackends,
    SyncTestBackends,
    http_client,
    mock_credentials,
    mock_services,
    server_url,
    start_test_backend,
    sync_http_client,
)

NOT_AVAILABLE = "TestBackend server is not available"


@dataclass
class Seen:
    """What the plugins under test saw during init."""

    base_urls: list[str] = field(default_factory=list[str])
    external_urls: list[str] = field(default_factory=list[str])


def todo_plugin(seen: Seen | None = None, *, fail: bool = False) -> BackendPlugin:
    """A plugin with an open ``/health``, a ``/items`` route and a service-only ``/admin``."""

    def register(env: PluginRegistrationPoints) -> None:
        async def init(
            router: HttpRouterService = inject(core_services.http_router),
            http_auth: HttpAuthService = inject(core_services.http_auth),
            discovery: DiscoveryService = inject(core_services.discovery),
        ) -> None:
            if seen is not None:
                seen.base_urls.append(await discovery.get_base_url("todo"))
                seen.external_urls.append(await discovery.get_external_base_url("todo"))
            if fail:
                raise RuntimeError("boom")

            async def items(request: Request) -> JSONResponse:
                credentials = await http_auth.credentials(request)
                return JSONResponse({"items": ["a"], "caller": credentials.principal.subject})

            async def admin(request: Request) -> JSONResponse:
                credentials = await http_auth.credentials(request, allow=["service"])
                return JSONResponse({"caller": credentials.principal.subject})

            async def health(request: Request) -> JSONResponse:
                return JSONResponse({"ok": True})

            router.use(
                Router([Route("/items", items), Route("/admin", admin), Route("/health", health)])
            )
            router.add_auth_policy(path="/health", allow="unauthenticated")

        env.register_init(init)

    return create_backend_plugin(plugin_id="todo", register=register)


def caller_plugin() -> BackendPlugin:
    """A plugin whose ``/relay`` calls todo's ``/admin`` with a token issued for todo."""

    def register(env: PluginRegistrationPoints) -> None:
        async def init(
            router: HttpRouterService = inject(core_services.http_router),
            auth: AuthService = inject(core_services.auth),
            discovery: DiscoveryService = inject(core_services.discovery),
        ) -> None:
            async def relay(request: Request) -> JSONResponse:
                token = await auth.get_plugin_request_token(
                    on_behalf_of=await auth.get_own_service_credentials(),
                    target_plugin_id="todo",
                )
                base_url = await discovery.get_base_url("todo")
                async with httpx.AsyncClient(timeout=10.0) as client:
                    response = await client.get(
                        f"{base_url}/admin", headers={"Authorization": f"Bearer {token.token}"}
                    )
                return JSONResponse(response.json(), status_code=response.status_code)

            router.use(Router([Route("/relay", relay)]))

        env.register_init(init)

    return create_backend_plugin(plugin_id="caller", register=register)


def quiet_plugin() -> BackendPlugin:
    """A plugin that uses no HTTP service at all."""

    def register(env: PluginRegistrationPoints) -> None:
        def init(logger: LoggerService = inject(core_services.logger)) -> None:
            logger.info("no HTTP here")

        env.register_init(init)

    return create_backend_plugin(plugin_id="quiet", register=register)


class TestServing:
    async def test_plugin_route_answers_through_the_client(
        self, test_backend: AsyncTestBackends
    ) -> None:
        """A plugin route is served below ``/api/<plugin_id>`` and reached with ``http_client``."""
        backend = await test_backend(features=[todo_plugin()])
        async with http_client(backend) as client:
            response = await client.get("/api/todo/items")
        assert response.status_code == 200
        assert response.json() == {"items": ["a"], "caller": "user:default/mock"}

    async def test_health_endpoints_are_served(self, test_backend: AsyncTestBackends) -> None:
        """The test server answers liveness and, once started, readiness."""
        backend = await test_backend(features=[todo_plugin()])
        async with http_client(backend) as client:
            readiness = await client.get("/.backstage/health/v1/readiness")
            liveness = await client.get("/.backstage/health/v1/liveness")
        assert (readiness.status_code, readiness.json()) == (200, {"status": "ok"})
        assert liveness.status_code == 200

    async def test_serves_on_loopback_with_a_free_port_never_7007(
        self, test_backend: AsyncTestBackends
    ) -> None:
        """The server listens on 127.0.0.1 with a chosen port, ignoring ``backend.listen``."""
        config = mock_services.root_config.factory(
            data={"backend": {"listen": {"host": "0.0.0.0", "port": 7007}}}
        )
        backend = await test_backend(features=[todo_plugin(), config])
        url = urlsplit(server_url(backend))
        assert url.hostname == "127.0.0.1"
        assert url.port not in (None, 0, 7007)

    async def test_each_backend_gets_its_own_port(self, test_backend: AsyncTestBackends) -> None:
        """Two test backends side by side serve on different ports."""
        first = await test_backend(features=[todo_plugin()])
        second = await test_backend(features=[todo_plugin()])
        assert server_url(first) != server_url(second)


class TestCredentials:
    async def test_protected_route_needs_credentials(self, test_backend: AsyncTestBackends) -> None:
        """Without credentials a protected route gives 401; mock service credentials give 200."""
        anonymous = mock_services.http_auth.factory(default_credentials=mock_credentials.none())
        backend = await test_backend(features=[todo_plugin(), anonymous])
        async with http_client(backend) as client:
            refused = await client.get("/api/todo/admin")
            allowed = await client.get(
                "/api/todo/admin",
                headers={"Authorization": mock_credentials.service.header("plugin:other")},
            )
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == "Missing credentials"
        assert (allowed.status_code, allowed.json()) == (200, {"caller": "plugin:other"})

    async def test_default_mock_user_and_the_none_header(
        self, test_backend: AsyncTestBackends
    ) -> None:
        """A bare request is the mock user (403); ``none.header()`` nobody (401 off open paths)."""
        backend = await test_backend(features=[todo_plugin()])
        nobody = {"Authorization": mock_credentials.none.header()}
        async with http_client(backend) as client:
            as_user = await client.get("/api/todo/admin")
            anonymous = await client.get("/api/todo/items", headers=nobody)
            open_path = await client.get("/api/todo/health", headers=nobody)
        assert as_user.status_code == 403
        assert anonymous.status_code == 401
        assert open_path.status_code == 200

    async def test_client_headers_apply_to_every_request(
        self, test_backend: AsyncTestBackends
    ) -> None:
        """Headers given to ``http_client`` go with each request; bad tokens give 401."""
        backend = await test_backend(features=[todo_plugin()])
        service = {"Authorization": mock_credentials.service.header()}
        async with http_client(backend, headers=service) as client:
            response = await client.get("/api/todo/admin")
        async with http_client(backend) as client:
            invalid = await client.get(
                "/api/todo/items", headers={"Authorization": mock_credentials.user.invalid_header()}
            )
        assert response.json() == {"caller": "external:test-service"}
        assert invalid.status_code == 401

    async def test_plugins_call_each_other_with_issued_tokens(
        self, test_backend: AsyncTestBackends
    ) -> None:
        """One plugin reaches another through discovery with a mock token issued for it."""
        backend = await test_backend(features=[todo_plugin(), caller_plugin()])
        async with http_client(backend) as client:
            response = await client.get("/api/caller/relay")
        assert (response.status_code, response.json()) == (200, {"caller": "plugin:caller"})


class TestDiscovery:
    async def test_discovery_points_at_the_test_server(
        self, test_backend: AsyncTestBackends
    ) -> None:
        """Internal and external URLs of plugins are on the test server."""
        seen = Seen()
        backend = await test_backend(features=[todo_plugin(seen)])
        expected = f"{server_url(backend)}/api/todo"
        assert seen.base_urls == [expected]
        assert seen.external_urls == [expected]

    async def test_discovery_can_be_pointed_elsewhere(
        self, test_backend: AsyncTestBackends
    ) -> None:
        """A discovery factory with a base URL replaces the test server's."""
        seen = Seen()
        elsewhere = mock_services.discovery.factory(base_url="http://other.test")
        await test_backend(features=[todo_plugin(seen), elsewhere])
        assert seen.base_urls == ["http://other.test/api/todo"]


class TestAvailability:
    @pytest.mark.parametrize(
        "replacement",
        [mock_services.root_http_router.factory(), mock_services.root_http_router.mock().factory],
        ids=["in-memory factory", "recording mock"],
    )
    async def test_replaced_root_router_has_no_server(
        self, test_backend: AsyncTestBackends, replacement: ServiceFactory[RootHttpRouterService]
    ) -> None:
        """With its own root router factory a test backend has no server to offer."""
        backend = await test_backend(features=[todo_plugin(), replacement])
        with pytest.raises(BackendStateError, match=f"^{NOT_AVAILABLE}$"):
            server_url(backend)
        with pytest.raises(BackendStateError, match=f"^{NOT_AVAILABLE}$"):
            http_client(backend)

    async def test_no_server_when_nothing_uses_http(self, test_backend: AsyncTestBackends) -> None:
        """A backend whose features use no HTTP service starts no server and says why."""
        backend = await test_backend(features=[quiet_plugin()])
        with pytest.raises(BackendStateError, match="no feature of this test backend uses HTTP"):
            server_url(backend)

    async def test_server_stops_with_the_backend(self) -> None:
        """After ``stop`` the URL is refused and nothing answers on the old port."""
        backend = await start_test_backend(features=[todo_plugin()])
        url = server_url(backend)
        await backend.stop()
        with pytest.raises(BackendStateError, match="has been stopped"):
            server_url(backend)
        async with httpx.AsyncClient(timeout=5.0) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(f"{url}/.backstage/health/v1/liveness")

    async def test_failed_start_leaves_no_server(self) -> None:
        """When a plugin fails at startup the server that already started is stopped."""
        seen = Seen()
        message = "Plugin 'todo' startup failed; caused by RuntimeError: boom"
        with pytest.raises(BackendStartupError, match=re.escape(message)):
            await start_test_backend(features=[todo_plugin(seen, fail=True)])
        async with httpx.AsyncClient(timeout=5.0) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(seen.base_urls[0])

    async def test_other_backends_are_refused(self) -> None:
        """The helpers refuse a backend that ``start_test_backend`` did not start."""
        backend = create_specialized_backend()
        with pytest.raises(BackendStateError, match="was not started by start_test_backend"):
            server_url(backend)


class TestPlainTests:
    def test_sync_client_in_a_plain_test(self, sync_test_backend: SyncTestBackends) -> None:
        """A plain test calls the server with ``sync_http_client``; the loop runs on a thread."""
        backend = sync_test_backend(features=[todo_plugin()])
        with sync_http_client(backend) as client:
            response = client.get("/api/todo/health")
        assert response.json() == {"ok": True}

    async def test_sync_client_is_refused_in_the_serving_loop(
        self, test_backend: AsyncTestBackends
    ) -> None:
        """A blocking client in the loop that serves the backend would hang, so it is refused."""
        backend = await test_backend(features=[todo_plugin()])
        with pytest.raises(BackendStateError, match="use http_client"):
            sync_http_client(backend)


def test_importing_the_testing_package_leaves_http_unloaded() -> None:
    """``import di_backend.testing`` does not import the HTTP stack (it loads with pytest)."""
    code = "import sys, di_backend.testing; print('di_backend.http' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
