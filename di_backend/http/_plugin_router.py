"""A plugin's router: JWKS, lifecycle gate, credentials barrier, then the plugin's apps."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from di_backend.http._auth_policies import CredentialsBarrier
from di_backend.http._error_handler import ErrorHandlerMiddleware
from di_backend.http._errors import NotFoundError
from di_backend.http._lifecycle_gate import LifecycleGate
from di_backend.services import LoggerService
from di_backend.services._credentials import AuthPolicyAllow
from di_backend.services._http import AuthService

__all__ = ["JWKS_PATH", "DefaultHttpRouter"]

JWKS_PATH = "/.backstage/auth/v1/jwks.json"
"""Where each plugin publishes the public keys of its backend, relative to its base URL."""


def _relative_path(scope: Scope) -> str:
    path = str(scope["path"])
    root_path = str(scope.get("root_path", ""))
    return path[len(root_path) :] if root_path and path.startswith(root_path) else path


def _handles(app: ASGIApp, scope: Scope) -> bool:
    """Return whether ``app`` has a route for ``scope``; apps without routes take everything."""
    if isinstance(app, Starlette | Router):
        routes = app.routes
    else:
        return True
    return any(route.matches(scope)[0] != Match.NONE for route in routes)


class DefaultHttpRouter:
    """The default ``HttpRouterService``: an ASGI app to mount at ``/api/<plugin_id>``.

    Requests pass, in order: the JWKS endpoint (``GET /.backstage/auth/v1/jwks.json``),
    the lifecycle gate, the credentials barrier, then the apps added with
    :meth:`use` in the order they were added. A Starlette ``Router`` (or
    ``Starlette`` app) only takes requests one of its routes matches, so several
    can be added; any other ASGI app takes every request that reaches it.
    """

    def __init__(
        self,
        plugin_id: str,
        *,
        auth: AuthService,
        gate: LifecycleGate,
        barrier: CredentialsBarrier,
        logger: LoggerService | None = None,
    ) -> None:
        """Create the router of ``plugin_id``; mount it at :attr:`base_path`."""
        self._plugin_id = plugin_id
        self._auth = auth
        self._gate = gate
        self._barrier = barrier
        self._apps: list[ASGIApp] = []
        self._app = ErrorHandlerMiddleware(self._dispatch, logger=logger)

    @property
    def base_path(self) -> str:
        """Where the router belongs on the root router: ``/api/<plugin_id>``."""
        return f"/api/{self._plugin_id}"

    @property
    def gate(self) -> LifecycleGate:
        """The lifecycle gate; the factory opens and closes it with the plugin's lifecycle."""
        return self._gate

    def use(self, app: ASGIApp) -> None:
        """Add ``app`` to the plugin's routes."""
        self._apps.append(app)

    def add_auth_policy(self, *, path: str, allow: AuthPolicyAllow) -> None:
        """Open ``path`` (relative to the plugin) to ``allow``; see :class:`CredentialsBarrier`."""
        self._barrier.add_auth_policy(path=path, allow=allow)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        await self._app(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return
        relative = _relative_path(scope)
        if scope["type"] == "http" and scope["method"] == "GET" and relative == JWKS_PATH:
            body = json.dumps(await self._auth.list_public_service_keys()).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self._gate.wait()
        await self._barrier.check(scope)
        for app in self._apps:
            if _handles(app, scope):
                await app(scope, receive, send)
                return
        method = scope.get("method", "WEBSOCKET")
        msg = f"No route for {method} {relative} in plugin '{self._plugin_id}'"
        raise NotFoundError(msg)
