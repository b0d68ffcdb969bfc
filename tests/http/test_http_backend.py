"""Two real backends wired by the service factories: plugin A calls plugin B over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from http_support import CLIENT_TIMEOUT, LOOPBACK
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend import (
    Backend,
    BackendFeature,
    BackendPlugin,
    BackendStartupError,
    PluginRegistrationPoints,
    ServiceFactory,
    core_services,
    create_backend_plugin,
    create_service_factory,
    create_specialized_backend,
    inject,
)
from di_backend.config import ObservableConfig
from di_backend.errors import ConfigTypeError, describe_error
from di_backend.http import (
    AuthService,
    DefaultRootHttpRouter,
    DiscoveryService,
    HttpAuthService,
    HttpRouterService,
    RootHttpRouterService,
    http_service_factories,
)
from di_backend.services import JsonValue, LifecycleService, RootConfigService

CALL_TIMEOUT = httpx.Timeout(2.0)


def _config_factory(config: ObservableConfig) -> ServiceFactory[RootConfigService]:
    def provide() -> RootConfigService:
        return config

    return create_service_factory(core_services.root_config, provide)


def _backend(config: ObservableConfig, *features: BackendFeature) -> Backend:
    backend = create_specialized_backend(default_service_factories=http_service_factories)
    backend.add(_config_factory(config))
    for feature in features:
        backend.add(feature)
    return backend


def _listen(extra: dict[str, JsonValue] | None = None) -> dict[str, JsonValue]:
    return {"backend": {"listen": {"host": LOOPBACK, "port": 0}, **(extra or {})}}


def _port(router: RootHttpRouterService) -> int:
    assert isinstance(router, DefaultRootHttpRouter)
    return router.listen_address()[1]


@dataclass
class Seen:
    """What the plugins under test saw."""

    ports: list[int] = field(default_factory=list[int])
    readiness_during_init: list[int] = field(default_factory=list[int])
    readiness_during_shutdown: list[int] = field(default_factory=list[int])
    own_base_urls: list[str] = field(default_factory=list[str])


def _pong_plugin(seen: Seen) -> BackendPlugin:
    def register(env: PluginRegistrationPoints) -> None:
        async def init(
            http_router: HttpRouterService = inject(core_services.http_router),
            http_auth: HttpAuthService = inject(core_services.http_auth),
            root_router: RootHttpRouterService = inject(core_services.root_http_router),
            discovery: DiscoveryService = inject(core_services.discovery),
        ) -> None:
            async def ping(request: Request) -> JSONResponse:
                credentials = await http_auth.credentials(request, allow=["service"])
                return JSONResponse({"pong": credentials.principal.subject})

            http_router.use(Router([Route("/ping", ping)]))
            seen.ports.append(_port(root_router))
            seen.own_base_urls.append(await discovery.get_base_url("pong"))

        env.register_init(init)

    return create_backend_plugin(plugin_id="pong", register=register)


def _ping_plugin(seen: Seen) -> BackendPlugin:
    def register(env: PluginRegistrationPoints) -> None:
        async def init(
            http_router: HttpRouterService = inject(core_services.http_router),
            auth: AuthService = inject(core_services.auth),
            discovery: DiscoveryService = inject(core_services.discovery),
            root_router: RootHttpRouterService = inject(core_services.root_http_router),
            lifecycle: LifecycleService = inject(core_services.lifecycle),
        ) -> None:
            port = _port(root_router)
            seen.ports.append(port)
            readiness = f"http://{LOOPBACK}:{port}/.backstage/health/v1/readiness"

            async def call_pong(request: Request) -> JSONResponse:
                base_url = await discovery.get_base_url("pong")
                token = await auth.get_plugin_request_token(
                    on_behalf_of=await auth.get_own_service_credentials(),
                    target_plugin_id="pong",
                )
                async with httpx.AsyncClient(timeout=CALL_TIMEOUT) as http:
                    try:
                        response = await http.get(
                            f"{base_url}/ping", headers={"Authorization": f"Bearer {token.token}"}
                        )
                    except httpx.HTTPError as error:
                        return JSONResponse(
                            {"failed": f"pong at {base_url}: {describe_error(error)}"},
                            status_code=502,
                        )
                return JSONResponse(response.json(), status_code=response.status_code)

            async def probe_readiness() -> None:
                async with httpx.AsyncClient(timeout=CALL_TIMEOUT) as http:
                    seen.readiness_during_shutdown.append((await http.get(readiness)).status_code)

            http_router.use(Router([Route("/call-pong", call_pong)]))
            http_router.add_auth_policy(path="/call-pong", allow="unauthenticated")
            lifecycle.add_shutdown_hook(probe_readiness)
            async with httpx.AsyncClient(timeout=CALL_TIMEOUT) as http:
                seen.readiness_during_init.append((await http.get(readiness)).status_code)

        env.register_init(init)

    return create_backend_plugin(plugin_id="ping", register=register)


@dataclass
class Split:
    """Backend A (plugin 'ping') and backend B (plugin 'pong'), both started."""

    a: Backend
    b: Backend
    a_url: str
    b_url: str
    seen_a: Seen
    seen_b: Seen


@pytest.fixture(name="split")
async def _split() -> AsyncIterator[Split]:
    """Start B, then A pointed at B, then point B at A (for A's public keys)."""
    seen_a, seen_b = Seen(), Seen()
    config_a = ObservableConfig(_listen())
    config_b = ObservableConfig(_listen())
    a = _backend(config_a, _ping_plugin(seen_a))
    b = _backend(config_b, _pong_plugin(seen_b))
    try:
        await b.start()
        b_url = f"http://{LOOPBACK}:{seen_b.ports[0]}"
        config_a.update({**_listen(), "discovery": _endpoint_to(b_url, "pong")})
        await a.start()
        a_url = f"http://{LOOPBACK}:{seen_a.ports[0]}"
        config_b.update({**_listen(), "discovery": _endpoint_to(a_url, "ping")})
        yield Split(a, b, a_url, b_url, seen_a, seen_b)
    finally:
        await a.stop()
        await b.stop()


def _endpoint_to(url: str, plugin_id: str) -> JsonValue:
    return {"endpoints": [{"target": f"{url}/api/{{{{pluginId}}}}", "plugins": [plugin_id]}]}


class TestSplitBackends:
    async def test_a_plugin_calls_a_plugin_in_another_backend(self, split: Split) -> None:
        """Plugin 'ping' in A reaches 'pong' in B through discovery with a service token."""
        async with httpx.AsyncClient(base_url=split.a_url, timeout=CLIENT_TIMEOUT) as http:
            response = await http.get("/api/ping/call-pong")
        assert (response.status_code, response.json()) == (200, {"pong": "plugin:ping"})

    async def test_unauthenticated_calls_are_refused(self, split: Split) -> None:
        """Calling 'pong' without a token answers 401 Missing credentials."""
        async with httpx.AsyncClient(base_url=split.b_url, timeout=CLIENT_TIMEOUT) as http:
            response = await http.get("/api/pong/ping")
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "Missing credentials"

    async def test_stopping_the_callee_makes_calls_fail_clearly(self, split: Split) -> None:
        """Once B stopped, A's call fails fast with a connection error naming B's URL."""
        await split.b.stop()
        async with httpx.AsyncClient(base_url=split.a_url, timeout=CLIENT_TIMEOUT) as http:
            response = await http.get("/api/ping/call-pong")
        assert response.status_code == 502
        assert response.json()["failed"].startswith(f"pong at {split.b_url}/api/pong: ConnectError")

    async def test_discovery_uses_the_real_port(self, split: Split) -> None:
        """With port 0 configured, discovery reports the port the server really got."""
        assert split.seen_b.own_base_urls == [f"{split.b_url}/api/pong"]
        assert split.seen_b.ports[0] > 0

    async def test_readiness_follows_the_backend_lifecycle(self, split: Split) -> None:
        """Readiness is 503 while plugins initialise, 200 once started, 503 while stopping."""
        assert split.seen_a.readiness_during_init == [503]
        async with httpx.AsyncClient(base_url=split.a_url, timeout=CLIENT_TIMEOUT) as http:
            ready = await http.get("/.backstage/health/v1/readiness")
        assert ready.status_code == 200
        await split.a.stop()
        assert split.seen_a.readiness_during_shutdown == [503]
        async with httpx.AsyncClient(base_url=split.a_url, timeout=CLIENT_TIMEOUT) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get("/.backstage/health/v1/readiness")


def _impatient_plugin(statuses: list[tuple[int, str]]) -> BackendPlugin:
    def register(env: PluginRegistrationPoints) -> None:
        async def init(
            http_router: HttpRouterService = inject(core_services.http_router),
            discovery: DiscoveryService = inject(core_services.discovery),
        ) -> None:
            async def hello(request: Request) -> JSONResponse:
                return JSONResponse({"hello": "world"})

            http_router.use(Router([Route("/hello", hello)]))
            http_router.add_auth_policy(path="/hello", allow="unauthenticated")
            base_url = await discovery.get_base_url("impatient")
            async with httpx.AsyncClient(timeout=CALL_TIMEOUT) as http:
                response = await http.get(f"{base_url}/hello")
            statuses.append((response.status_code, response.json()["error"]["message"]))

        env.register_init(init)

    return create_backend_plugin(plugin_id="impatient", register=register)


async def test_requests_before_startup_time_out_with_503() -> None:
    """A request to a plugin still initialising gets 503 after startupRequestPauseTimeout."""
    statuses: list[tuple[int, str]] = []
    config = ObservableConfig(_listen({"lifecycle": {"startupRequestPauseTimeout": "100ms"}}))
    backend = _backend(config, _impatient_plugin(statuses))
    try:
        await backend.start()
    finally:
        await backend.stop()
    assert statuses == [(503, "Service has not started up yet")]


def _open_plugin(results: list[int], port_out: list[int]) -> BackendPlugin:
    def register(env: PluginRegistrationPoints) -> None:
        async def init(
            http_router: HttpRouterService = inject(core_services.http_router),
            root_router: RootHttpRouterService = inject(core_services.root_http_router),
            lifecycle: LifecycleService = inject(core_services.lifecycle),
        ) -> None:
            async def hello(request: Request) -> JSONResponse:
                return JSONResponse({"hello": "anyone"})

            http_router.use(Router([Route("/hello", hello)]))
            port_out.append(_port(root_router))

            async def probe() -> None:
                url = f"http://{LOOPBACK}:{port_out[0]}/api/open/hello"
                async with httpx.AsyncClient(timeout=CALL_TIMEOUT) as http:
                    results.append((await http.get(url)).status_code)

            lifecycle.add_startup_hook(probe)

        env.register_init(init)

    return create_backend_plugin(plugin_id="open", register=register)


async def test_the_default_auth_policy_can_be_disabled() -> None:
    """With dangerouslyDisableDefaultAuthPolicy a route without a policy answers anyone."""
    results: list[int] = []
    config = ObservableConfig(_listen({"auth": {"dangerouslyDisableDefaultAuthPolicy": True}}))
    backend = _backend(config, _open_plugin(results, []))
    try:
        await backend.start()
    finally:
        await backend.stop()
    assert results == [200]


async def test_bad_external_access_config_fails_the_plugin_that_needs_auth() -> None:
    """A malformed externalAccess entry fails startup with a message naming the key."""
    config = ObservableConfig(
        _listen({"auth": {"externalAccess": [{"type": "static", "options": {"token": "x"}}]}})
    )
    backend = _backend(config, _open_plugin([], []))
    with pytest.raises(
        BackendStartupError,
        match=re.escape(
            "Missing required config value at 'backend.auth.externalAccess[0].options.subject'"
        ),
    ):
        await backend.start()
    await backend.stop()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("serverShutdownDelay", 1e20),
        ("serverShutdownDelay", "forever"),
        ("serverShutdownTimeout", {"days": 1e12}),
    ],
)
async def test_a_bad_lifecycle_duration_fails_before_anything_listens(
    key: str, value: JsonValue
) -> None:
    """A bad or huge server duration is a config error naming the key; no socket is left bound."""
    import socket

    from di_backend.testing import free_port

    port = free_port()
    config = ObservableConfig(
        {"backend": {"listen": {"host": LOOPBACK, "port": port}, "lifecycle": {key: value}}}
    )
    backend = _backend(config, _open_plugin([], []))
    with pytest.raises(ConfigTypeError, match=re.escape(f"'backend.lifecycle.{key}'")):
        await backend.start()
    await backend.stop()
    with socket.socket() as probe:  # the port is free again: nothing was left listening
        probe.bind((LOOPBACK, port))
