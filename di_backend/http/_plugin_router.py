"""A plugin's router: JWKS, lifecycle gate, credentials barrier, then the plugin's apps."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from di_backend.http._auth_policies import CredentialsBarrier
from di_backend.http._error_handler import ERROR_LOGGER, ErrorHandlerMiddleware
from di_backend.http._errors import InputError, NotFoundError
from di_backend.http._lifecycle_gate import LifecycleGate
from di_backend.services import LoggerService
from di_backend.services._credentials import AuthPolicyAllow
from di_backend.services._http import AuthService, HttpAuthService

__all__ = ["JWKS_PATH", "REQUEST_CONTEXT", "DefaultHttpRouter", "PluginRequestContext"]

JWKS_PATH = "/.backstage/auth/v1/jwks.json"
"""Where each plugin publishes the public keys of its backend, relative to its base URL."""

REQUEST_CONTEXT = "di_backend.plugin"
"""The ASGI scope key under which a plugin's apps find :class:`PluginRequestContext`."""


@dataclass(frozen=True, slots=True)
class PluginRequestContext:
    """What a request's handler may ask of the plugin serving it.

    Attributes:
        plugin_id: the plugin.
        http_auth: its ``HttpAuthService``.
        resolve: gets the plugin's instance of a ref (``None`` outside a backend).

    """

    plugin_id: str
    http_auth: HttpAuthService | None
    resolve: Callable[[Any], Awaitable[object]] | None


def _unsafe_path(relative: str) -> str | None:
    """Why ``relative`` cannot be routed safely, or ``None`` when it can."""
    if "\\" in relative or "\x00" in relative:
        return "it has a backslash or a NUL character"
    if "." in relative and any(segment in (".", "..") for segment in relative.split("/")):
        return "it has a '.' or '..' segment"
    return None


_ROUTED = (Starlette, Router)


_ROUTER_APP = Router.app


def _match_once(router: Router, scope: Scope) -> tuple[BaseRoute, Scope] | None:
    """The route ``router`` would hand ``scope`` to, as its own ``app`` picks it.

    The first full match, else the first partial one (which answers 405), else ``None``.
    """
    partial: tuple[BaseRoute, Scope] | None = None
    for route in router.routes:
        match, child_scope = route.matches(scope)
        if match is Match.FULL:
            return route, child_scope
        if match is Match.PARTIAL and partial is None:
            partial = (route, child_scope)
    return partial


def _handles(app: ASGIApp, scope: Scope) -> bool:
    """Return whether ``app`` has a route for ``scope``; apps without routes take everything."""
    if isinstance(app, _ROUTED):
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
        http_auth: HttpAuthService | None = None,
        resolve: Callable[[Any], Awaitable[object]] | None = None,
    ) -> None:
        """Create the router of ``plugin_id``; mount it at :attr:`base_path`.

        ``http_auth`` and ``resolve`` are what FastAPI dependencies of the plugin's
        apps use (``di_backend.fastapi``).
        """
        self._plugin_id = plugin_id
        self._context = PluginRequestContext(plugin_id, http_auth, resolve)
        self._auth = auth
        self._gate = gate
        self._barrier = barrier
        self._apps: list[ASGIApp] = []
        self._own_404: list[ASGIApp] = []  # apps that answer unmatched paths as we would
        self._logger = logger
        self._app = ErrorHandlerMiddleware(self.mounted, logger=logger)

    @property
    def base_path(self) -> str:
        """Where the router belongs on the root router: ``/api/<plugin_id>``."""
        return f"/api/{self._plugin_id}"

    @property
    def gate(self) -> LifecycleGate:
        """The lifecycle gate; the factory opens and closes it with the plugin's lifecycle."""
        return self._gate

    def use(self, app: ASGIApp) -> None:
        """Add ``app`` to the plugin's routes.

        A FastAPI app or ``APIRouter`` is prepared first (``di_backend.fastapi``):
        Backstage's JSON errors, the error responses in its OpenAPI document, and
        its OpenAPI and docs URLs open without credentials.
        """
        if "fastapi" in sys.modules:  # only then can ``app`` be one; never import it here
            from di_backend.fastapi._mount import prepare

            app, answers_404 = prepare(app, self)
            if answers_404:
                self._own_404.append(app)
        self._apps.append(app)

    def add_auth_policy(self, *, path: str, allow: AuthPolicyAllow) -> None:
        """Open ``path`` (relative to the plugin) to ``allow``; see :class:`CredentialsBarrier`."""
        self._barrier.add_auth_policy(path=path, allow=allow)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        await self._app(scope, receive, send)

    async def _send_jwks(self, send: Send) -> None:
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

    async def mounted(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a request the root router hands on, inside the root router's error handler.

        The same answers as :meth:`__call__`, whose own error handler wraps this very
        method; errors are logged with this router's logger (:data:`ERROR_LOGGER`) by
        whichever handler is outside, so a mounted router needs no second one.
        """
        # Every request passes here: the steps are inlined, since on a busy server each
        # call costs more than in a tight loop (the code is rarely in the CPU's caches).
        scope[ERROR_LOGGER] = self._logger
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            return
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        relative = path[len(root_path) :] if root_path and path.startswith(root_path) else path
        if relative == JWKS_PATH and kind == "http" and scope["method"] == "GET":
            await self._send_jwks(send)
            return
        if "." in relative or "\\" in relative or "\x00" in relative:
            unsafe = _unsafe_path(relative)
            if unsafe is not None:
                # Auth policies and the plugin's apps must see the same path. Nothing here
                # resolves dot segments (an app serving files would), so they are refused.
                msg = (
                    f"Refused the request path '{relative}' of plugin '{self._plugin_id}': "
                    f"{unsafe}; paths are not normalised, so that auth policies and routes "
                    "always decide on the same path"
                )
                raise InputError(msg)
        if not self._gate.is_open:
            await self._gate.wait()
        limited = self._barrier.credentials_needed(relative)
        if limited is not None:
            pending = self._barrier.require_credentials(scope, allow_limited_access=limited)
            if pending is not None:
                await pending
        scope[REQUEST_CONTEXT] = self._context
        apps = self._apps
        last = len(apps) - 1
        for index, app in enumerate(apps):
            # a Router as Starlette makes it (no subclass, no middleware) is matched once
            router = app if isinstance(app, Router) and type(app) is Router else None
            if router is not None and getattr(router.middleware_stack, "__func__", None) is (
                _ROUTER_APP
            ):
                matched = _match_once(router, scope)
                if matched is None:
                    continue
                # What Router.app does with its match, without matching a second time.
                route, child_scope = matched
                scope.setdefault("router", router)
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            # The last app takes the request when it answers unknown paths itself in
            # di_backend's shape (a prepared FastAPI app): no second route matching.
            if (index == last and app in self._own_404) or _handles(app, scope):
                await app(scope, receive, send)
                return
        method = scope.get("method", "WEBSOCKET")
        msg = f"No route for {method} {relative} in plugin '{self._plugin_id}'"
        raise NotFoundError(msg)
