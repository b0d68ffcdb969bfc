"""Testing HTTP routes: the test backend serves the plugin on 127.0.0.1 with a free port."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend import PluginRegistrationPoints, core_services, create_backend_plugin, inject
from di_backend.services import DiscoveryService, HttpAuthService, HttpRouterService
from di_backend.testing import (
    AsyncTestBackends,
    SyncTestBackends,
    http_client,
    mock_credentials,
    mock_services,
    server_url,
    sync_http_client,
)

# -- the plugin under test (normally imported from your package) ----------------


def _register(env: PluginRegistrationPoints) -> None:
    async def init(
        http_router: HttpRouterService = inject(core_services.http_router),
        http_auth: HttpAuthService = inject(core_services.http_auth),
        discovery: DiscoveryService = inject(core_services.discovery),
    ) -> None:
        async def items(request: Request) -> JSONResponse:
            credentials = await http_auth.credentials(request)
            return JSONResponse({"items": ["milk"], "for": credentials.principal.subject})

        async def purge(request: Request) -> JSONResponse:
            credentials = await http_auth.credentials(request, allow=["service"])
            return JSONResponse({"purged_by": credentials.principal.subject})

        async def health(request: Request) -> JSONResponse:
            return JSONResponse({"home": await discovery.get_base_url("todo")})

        http_router.use(
            Router(
                [
                    Route("/items", items),
                    Route("/purge", purge, methods=["POST"]),
                    Route("/health", health),
                ]
            )
        )
        http_router.add_auth_policy(path="/health", allow="unauthenticated")

    env.register_init(init)


todo_plugin = create_backend_plugin(plugin_id="todo", register=_register)

# -- the tests ----------------------------------------------------------------------


async def test_items_for_the_mock_user(test_backend: AsyncTestBackends) -> None:
    """A request without credentials counts as the mock user ``user:default/mock``."""
    backend = await test_backend(features=[todo_plugin])
    async with http_client(backend) as client:
        response = await client.get("/api/todo/items")
    assert response.json() == {"items": ["milk"], "for": "user:default/mock"}


async def test_purge_needs_service_credentials(test_backend: AsyncTestBackends) -> None:
    """The service-only route refuses a user (403) and nobody (401), and serves a service."""
    backend = await test_backend(features=[todo_plugin])
    nobody = {"Authorization": mock_credentials.none.header()}
    catalog = {"Authorization": mock_credentials.service.header("plugin:catalog")}
    async with http_client(backend) as client:
        as_user = await client.post("/api/todo/purge")
        anonymous = await client.post("/api/todo/purge", headers=nobody)
        as_service = await client.post("/api/todo/purge", headers=catalog)
    assert (as_user.status_code, anonymous.status_code) == (403, 401)
    assert as_service.json() == {"purged_by": "plugin:catalog"}


async def test_anonymous_requests_and_discovery(test_backend: AsyncTestBackends) -> None:
    """With anonymous defaults only the open path answers; discovery points at the server."""
    anonymous = mock_services.http_auth.factory(default_credentials=mock_credentials.none())
    backend = await test_backend(features=[todo_plugin, anonymous])
    async with http_client(backend) as client:
        refused = await client.get("/api/todo/items")
        health = await client.get("/api/todo/health")
    assert refused.status_code == 401
    assert health.json() == {"home": f"{server_url(backend)}/api/todo"}


def test_from_a_plain_test(sync_test_backend: SyncTestBackends) -> None:
    """A plain test uses ``sync_http_client``; the backend runs on a background loop."""
    backend = sync_test_backend(features=[todo_plugin])
    with sync_http_client(backend) as client:
        response = client.get("/api/todo/items", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Unknown mock token 'nonsense'"
