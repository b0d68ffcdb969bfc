"""A plain Starlette ``Router`` in a plugin is matched once, and answers as Starlette would."""

from __future__ import annotations

import httpx
import pytest
from http_support import (
    BackendMaker,
    client,
    make_backend_fixture,  # noqa: F401  # pyright: ignore[reportUnusedImport]
)
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send


class _CountingRoute(Route):
    """A route that counts how often it is asked whether it matches."""

    calls = 0

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Count, then match as a ``Route`` does."""
        type(self).calls += 1
        return super().matches(scope)


class _PassThrough:
    """A middleware that changes nothing: it only keeps Starlette's own dispatch in use."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def _describe(request: Request) -> JSONResponse:
    route = request.scope.get("route")
    return JSONResponse(
        {
            "params": dict(request.path_params),
            "route": getattr(route, "path", None),
            "router": type(request.scope.get("router")).__name__,
            "root_path": request.scope.get("root_path"),
        }
    )


def _routes() -> list[BaseRoute]:
    return [
        Route("/items/{item_id:int}", _describe),
        Route("/items/{item_id:int}", _describe, methods=["DELETE"]),
        Route("/only-post", _describe, methods=["POST"]),
        Mount("/sub", routes=[Route("/deep/{name}", _describe)]),
    ]


_REQUESTS = [
    ("GET", "/items/3"),
    ("DELETE", "/items/3"),
    ("GET", "/only-post"),
    ("POST", "/only-post"),
    ("GET", "/sub/deep/x"),
    ("GET", "/items/3/"),
    ("GET", "/items/not-a-number"),
]


def _answer(response: httpx.Response) -> tuple[int, str, str | None]:
    return response.status_code, response.text, response.headers.get("allow")


@pytest.mark.parametrize(("method", "path"), _REQUESTS)
async def test_a_plain_router_answers_as_starlettes_own_dispatch(
    make_backend: BackendMaker, method: str, path: str
) -> None:
    """Each request gets the same status, body and Allow header with and without the shortcut."""
    backend = await make_backend()
    plain = backend.add_plugin("plain")
    plain.router.use(Router(_routes()))
    plain.router.add_auth_policy(path="*", allow="unauthenticated")
    dispatched = backend.add_plugin("dispatched")  # middleware keeps Router.app in use
    dispatched.router.use(Router(_routes(), middleware=[Middleware(_PassThrough)]))
    dispatched.router.add_auth_policy(path="*", allow="unauthenticated")
    async with client(backend.base_url) as http:
        ours = await http.request(method, f"/api/plain{path}")
        theirs = await http.request(method, f"/api/dispatched{path}")
    status, text, allow = _answer(ours)
    # the only differences allowed: the plugin's own name in paths and messages
    text = text.replace("/api/plain", "/api/dispatched").replace("'plain'", "'dispatched'")
    assert (status, text, allow) == _answer(theirs)


async def test_a_plain_router_matches_each_route_once(make_backend: BackendMaker) -> None:
    """A request asks the plain router's routes once, not once to choose and again to route."""
    backend = await make_backend()
    plain = backend.add_plugin("plain")
    plain.router.use(Router([_CountingRoute("/one", _describe)]))
    plain.router.add_auth_policy(path="*", allow="unauthenticated")
    _CountingRoute.calls = 0
    async with client(backend.base_url) as http:
        response = await http.get("/api/plain/one")
    assert response.status_code == 200
    assert _CountingRoute.calls == 1


async def test_a_router_with_middleware_still_runs_it(make_backend: BackendMaker) -> None:
    """A Router built with middleware is called as it is, so its middleware runs."""
    seen: list[str] = []

    class _Mark(_PassThrough):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(str(scope["path"]))
            await self.app(scope, receive, send)

    backend = await make_backend()
    plugin = backend.add_plugin("marked")
    plugin.router.use(Router([Route("/one", _describe)], middleware=[Middleware(_Mark)]))
    plugin.router.add_auth_policy(path="*", allow="unauthenticated")
    async with client(backend.base_url) as http:
        response = await http.get("/api/marked/one")
    assert response.status_code == 200
    assert seen == ["/api/marked/one"]
