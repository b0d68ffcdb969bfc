"""A token naming a plugin that lives nowhere known is refused without fetching any keys.

With the default discovery, a backend knows where a plugin lives when it is installed
in the backend or a ``discovery.endpoints`` entry covers it. The keys of any other
plugin would be fetched from the backend itself, where nothing publishes them, so a
token naming one is refused at once: forged subjects cost no outbound request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from http_support import LOOPBACK, BackendMaker, make_backend_fixture  # noqa: F401  # pyright: ignore[reportUnusedImport]
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend import (
    Backend,
    BackendPlugin,
    PluginRegistrationPoints,
    core_services,
    create_backend_plugin,
    create_service_factory,
    create_specialized_backend,
    inject,
)
from di_backend.config import ObservableConfig
from di_backend.http import (
    DefaultRootHttpRouter,
    JwksCache,
    KeyStore,
    PluginTokenHandler,
    http_service_factories,
)
from di_backend.services import HttpAuthService, HttpRouterService, JsonValue, RootHttpRouterService

PORTS: list[int] = []


def _pong() -> BackendPlugin:
    def register(env: PluginRegistrationPoints) -> None:
        async def init(
            http_router: HttpRouterService = inject(core_services.http_router),
            http_auth: HttpAuthService = inject(core_services.http_auth),
            root_router: RootHttpRouterService = inject(core_services.root_http_router),
        ) -> None:
            async def ping(request: Request) -> JSONResponse:
                credentials = await http_auth.credentials(request, allow=["service"])
                return JSONResponse({"pong": credentials.principal.subject})

            http_router.use(Router([Route("/ping", ping)]))
            assert isinstance(root_router, DefaultRootHttpRouter)
            PORTS.append(root_router.listen_address()[1])

        env.register_init(init)

    return create_backend_plugin(plugin_id="pong", register=register)


async def _started(config: dict[str, JsonValue]) -> Backend:
    observable = ObservableConfig({"backend": {"listen": {"host": LOOPBACK, "port": 0}}, **config})
    backend = create_specialized_backend(default_service_factories=http_service_factories)
    backend.add(create_service_factory(core_services.root_config, lambda: observable))
    backend.add(_pong())
    await backend.start()
    return backend


@pytest.fixture
async def stopped_after() -> AsyncIterator[list[Backend]]:
    """Backends to stop after the test."""
    backends: list[Backend] = []
    yield backends
    for backend in backends:
        await backend.stop()


def _foreign_token(source: str, keys: KeyStore | None = None) -> str:
    """A well-formed token from ``source`` to ``pong``, signed by keys the backend lacks."""
    token, _ = PluginTokenHandler(keys or KeyStore(), JwksCache()).issue(
        source_plugin_id=source, target_plugin_id="pong"
    )
    return token


async def _ping(token: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        return await http.get(
            f"http://{LOOPBACK}:{PORTS[-1]}/api/pong/ping",
            headers={"Authorization": f"Bearer {token}"},
        )


async def test_a_source_nobody_knows_is_refused_without_a_fetch(
    stopped_after: list[Backend],
) -> None:
    """``sub: ghost`` (not installed, no endpoint) is a 401 that says no keys were fetched."""
    stopped_after.append(await _started({}))
    response = await _ping(_foreign_token("ghost"))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == (
        "Invalid plugin token: plugin 'ghost' is not installed in this backend and no "
        "discovery.endpoints entry covers it, so its keys are not fetched"
    )


async def test_a_source_with_an_endpoint_is_fetched_and_verified(
    stopped_after: list[Backend], make_backend: BackendMaker
) -> None:
    """A plugin that a ``discovery.endpoints`` entry sends elsewhere has its keys fetched there."""
    remote = await make_backend()
    remote.add_plugin("ghost")  # publishes its backend's keys at /api/ghost/.backstage/...
    endpoints: JsonValue = [
        {"target": f"{remote.base_url}/api/{{{{pluginId}}}}", "plugins": ["ghost"]}
    ]
    stopped_after.append(await _started({"discovery": {"endpoints": endpoints}}))
    response = await _ping(_foreign_token("ghost", remote.keys))
    assert (response.status_code, response.json()) == (200, {"pong": "plugin:ghost"})


async def test_an_installed_source_with_an_unknown_key_is_still_looked_up(
    stopped_after: list[Backend],
) -> None:
    """A token from an installed plugin whose key is unknown fails on the key, not the source."""
    stopped_after.append(await _started({}))
    response = await _ping(_foreign_token("pong"))
    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert "is not installed" not in message
    assert message.startswith("Invalid plugin token: ")
    assert "plugin 'pong'" in message
