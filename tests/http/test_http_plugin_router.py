"""The plugin router: JWKS endpoint, lifecycle gate, credentials barrier, dispatch."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from http_support import (
    BackendMaker,
    MiniPlugin,
    client,
    fetch,
    make_backend_fixture,  # noqa: F401  # pyright: ignore[reportUnusedImport]
)
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from di_backend.http import AuthPolicyAllow, CredentialsBarrier, DefaultHttpAuthService, RouterError
from di_backend.http._auth_policies import compile_policy_path


def _routes(*paths: str) -> Router:
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.url.path)

    return Router([Route(path, endpoint) for path in paths])


async def _service_token(plugin: MiniPlugin, target: str) -> str:
    own = await plugin.auth.get_own_service_credentials()
    token = await plugin.auth.get_plugin_request_token(on_behalf_of=own, target_plugin_id=target)
    return token.token


class TestMounting:
    async def test_routes_are_served_below_api_plugin_id(self, make_backend: BackendMaker) -> None:
        """A router added with use() answers at /api/<plugin_id>/<route>."""
        backend = await make_backend()
        todo = backend.add_plugin("todo")
        todo.router.use(_routes("/items"))
        todo.router.add_auth_policy(path="/", allow="unauthenticated")
        response = await fetch(backend.base_url, "/api/todo/items")
        assert (response.status_code, response.text) == (200, "/api/todo/items")

    async def test_several_routers_are_tried_in_order(self, make_backend: BackendMaker) -> None:
        """A request no route of the first router matches falls through to the next one."""
        backend = await make_backend()
        todo = backend.add_plugin("todo")

        async def second(request: Request) -> JSONResponse:
            return JSONResponse({"from": "second"})

        todo.router.use(_routes("/first"))
        todo.router.use(Router([Route("/first", second), Route("/second", second)]))
        todo.router.add_auth_policy(path="*", allow="unauthenticated")
        async with client(backend.base_url) as http:
            first = await http.get("/api/todo/first")
            fallen = await http.get("/api/todo/second")
        assert first.text == "/api/todo/first"
        assert fallen.json() == {"from": "second"}

    async def test_unknown_routes_get_a_404_naming_the_plugin(
        self, make_backend: BackendMaker
    ) -> None:
        """A path no router handles is a JSON 404 that names the plugin and path."""
        backend = await make_backend()
        todo = backend.add_plugin("todo")
        todo.router.use(_routes("/items"))
        todo.router.add_auth_policy(path="/", allow="unauthenticated")
        response = await fetch(backend.base_url, "/api/todo/missing")
        assert response.status_code == 404
        assert response.json()["error"]["message"] == ("No route for GET /missing in plugin 'todo'")

    async def test_plain_asgi_apps_take_every_request(self, make_backend: BackendMaker) -> None:
        """An ASGI app that is not a Starlette router receives everything below the plugin."""
        backend = await make_backend()
        todo = backend.add_plugin("todo")

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = PlainTextResponse(f"raw {scope['path']}")
            await response(scope, receive, send)

        todo.router.use(app)
        todo.router.add_auth_policy(path="/", allow="unauthenticated")
        response = await fetch(backend.base_url, "/api/todo/any/thing")
        assert response.text == "raw /api/todo/any/thing"

    async def test_the_jwks_is_public_and_served_before_the_gate(
        self, make_backend: BackendMaker
    ) -> None:
        """GET /.backstage/auth/v1/jwks.json needs no credentials, even before startup."""
        backend = await make_backend()
        backend.add_plugin("todo", started=False)
        response = await fetch(backend.base_url, "/api/todo/.backstage/auth/v1/jwks.json")
        assert response.status_code == 200
        keys = response.json()["keys"]
        assert len(keys) == 1
        assert keys[0]["kty"] == "EC"
        assert keys[0]["crv"] == "P-256"
        assert keys[0]["kid"] == backend.keys.signing_key().kid


class TestLifecycleGate:
    async def test_early_requests_wait_for_startup(self, make_backend: BackendMaker) -> None:
        """A request that arrives before the plugin started is answered once it starts."""
        backend = await make_backend(pause_timeout=timedelta(seconds=10))
        todo = backend.add_plugin("todo", started=False)
        todo.router.use(_routes("/items"))
        todo.router.add_auth_policy(path="/", allow="unauthenticated")
        async with client(backend.base_url) as http:
            request = asyncio.create_task(http.get("/api/todo/items"))
            await asyncio.sleep(0.2)
            assert not request.done(), "the request must wait for startup"
            todo.gate.mark_started()
            response = await asyncio.wait_for(request, timeout=10)
        assert response.status_code == 200

    async def test_requests_time_out_with_503_when_startup_takes_too_long(
        self, make_backend: BackendMaker
    ) -> None:
        """After the pause timeout an early request gets 503 'Service has not started up yet'."""
        backend = await make_backend(pause_timeout=timedelta(milliseconds=100))
        todo = backend.add_plugin("todo", started=False)
        todo.router.use(_routes("/items"))
        response = await fetch(backend.base_url, "/api/todo/items")
        assert response.status_code == 503
        assert response.json()["error"] == {
            "name": "ServiceUnavailableError",
            "message": "Service has not started up yet",
        }

    async def test_requests_after_shutdown_get_503(self, make_backend: BackendMaker) -> None:
        """Once the plugin shuts down its requests get 503 'Service is shutting down'."""
        backend = await make_backend()
        todo = backend.add_plugin("todo")
        todo.router.use(_routes("/items"))
        todo.router.add_auth_policy(path="/", allow="unauthenticated")
        todo.gate.mark_shutting_down()
        response = await fetch(backend.base_url, "/api/todo/items")
        assert response.status_code == 503
        assert response.json()["error"]["message"] == "Service is shutting down"


class TestCredentialsBarrier:
    async def test_requests_without_credentials_get_401(self, make_backend: BackendMaker) -> None:
        """Without an auth policy every route needs credentials: 401 'Missing credentials'."""
        backend = await make_backend()
        todo = backend.add_plugin("todo")
        todo.router.use(_routes("/items"))
        response = await fetch(backend.base_url, "/api/todo/items")
        assert response.status_code == 401
        assert response.json()["error"] == {
            "name": "AuthenticationError",
            "message": "Missing credentials",
        }

    async def test_invalid_tokens_get_401(self, make_backend: BackendMaker) -> None:
        """A bearer token that is neither a plugin token nor configured is refused."""
        backend = await make_backend()
        todo = backend.add_plugin("todo")
        todo.router.use(_routes("/items"))
        response = await fetch(backend.base_url, "/api/todo/items", token="not-a-token")
        assert response.status_code == 401
        assert response.json()["error"]["message"].startswith("Illegal token")

    async def test_service_tokens_pass(self, make_backend: BackendMaker) -> None:
        """A service token issued for the plugin lets the request through."""
        backend = await make_backend()
        todo = backend.add_plugin("todo")
        caller = backend.add_plugin("caller")
        todo.router.use(_routes("/items"))
        token = await _service_token(caller, "todo")
        response = await fetch(backend.base_url, "/api/todo/items", token=token)
        assert response.status_code == 200

    @pytest.mark.parametrize(
        ("policy", "open_paths", "closed_paths"),
        [
            ("/health", ["/health", "/health/db", "/HEALTH"], ["/healthz", "/items"]),
            ("/", ["/health", "/items", "/"], []),
            ("*", ["/health", "/items"], []),
            ("/items/:id/public", ["/items/7/public", "/items/7/public/x"], ["/items/7"]),
            ("/files/*", ["/files/a/b"], ["/items"]),
        ],
        ids=["prefix", "slash", "star", "param", "wildcard-segment"],
    )
    async def test_unauthenticated_policies_open_matching_paths(
        self,
        make_backend: BackendMaker,
        policy: str,
        open_paths: list[str],
        closed_paths: list[str],
    ) -> None:
        """An 'unauthenticated' policy opens its path and everything below it, nothing else."""
        backend = await make_backend()
        todo = backend.add_plugin("todo")

        async def anything(scope: Scope, receive: Receive, send: Send) -> None:
            await PlainTextResponse("open")(scope, receive, send)

        todo.router.use(anything)
        todo.router.add_auth_policy(path=policy, allow="unauthenticated")
        async with client(backend.base_url) as http:
            for path in open_paths:
                assert (await http.get(f"/api/todo{path}")).status_code == 200, path
            for path in closed_paths:
                assert (await http.get(f"/api/todo{path}")).status_code == 401, path

    async def test_user_cookie_policy_still_needs_credentials(
        self, make_backend: BackendMaker
    ) -> None:
        """A 'user-cookie' policy accepts cookies but does not open the path to nobody."""
        backend = await make_backend()
        todo = backend.add_plugin("todo")
        todo.router.use(_routes("/items"))
        todo.router.add_auth_policy(path="/items", allow="user-cookie")
        response = await fetch(
            backend.base_url, "/api/todo/items", headers={"Cookie": "backstage-auth=junk"}
        )
        assert response.status_code == 401
        assert response.json()["error"]["message"].startswith("Illegal token")

    def test_unknown_policies_are_refused(self) -> None:
        """An unknown 'allow' is refused with Backstage's message plus plugin and path."""
        barrier = CredentialsBarrier("todo", _unused_http_auth())
        allow: AuthPolicyAllow = "everyone"  # type: ignore[assignment]
        with pytest.raises(
            RouterError,
            match=re.escape(
                "Invalid auth policy for plugin 'todo' at path '/x': allow must be "
                "'unauthenticated' or 'user-cookie', got 'everyone'"
            ),
        ):
            barrier.add_auth_policy(path="/x", allow=allow)

    def test_relative_policy_paths_are_refused(self) -> None:
        """A policy path must start with '/' (or be '*'); the message names the plugin."""
        barrier = CredentialsBarrier("todo", _unused_http_auth())
        with pytest.raises(RouterError, match=re.escape("Invalid auth policy for plugin 'todo'")):
            barrier.add_auth_policy(path="health", allow="unauthenticated")

    async def test_disabled_barrier_lets_everything_through(self) -> None:
        """The dangerouslyDisableDefaultAuthPolicy flag turns the barrier off."""
        barrier = CredentialsBarrier("todo", _unused_http_auth(), disabled=True)
        await barrier.check({"type": "http", "path": "/api/todo/x", "headers": []})

    def test_policy_patterns_are_case_insensitive_prefixes(self) -> None:
        """Compiled policy paths match case-insensitively on segment boundaries."""
        pattern = compile_policy_path("/Docs/")
        assert pattern.match("/docs/a")
        assert pattern.match("/DOCS")
        assert not pattern.match("/docsx")


def _unused_http_auth() -> DefaultHttpAuthService:
    class _NoAuth:
        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"auth.{name} must not be called")

    return DefaultHttpAuthService(_NoAuth())  # type: ignore[arg-type]
