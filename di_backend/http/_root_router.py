"""The backend's root router: health endpoints, mounted apps, 404 and JSON errors."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from di_backend.errors import BackendStateError, ConflictError
from di_backend.http._error_handler import answer_failure, send_error, start_tracker
from di_backend.http._errors import NotFoundError, RouterError
from di_backend.http._health import HEALTH_PATHS, HealthEndpoints
from di_backend.http._plugin_router import DefaultHttpRouter
from di_backend.http._server import HttpServer
from di_backend.services import LoggerService
from di_backend.services._http import RootHealthService

__all__ = ["DefaultRootHttpRouter", "normalize_root_path"]

_EMPTY = re.compile(r"^[/\s]*$")


def normalize_root_path(path: str) -> str:
    """Return ``path`` lower-cased with exactly one trailing ``/`` (for conflict checks)."""
    return path.lower().rstrip("/") + "/"


@dataclass(frozen=True, slots=True)
class _Mount:
    path: str
    prefix: str  # lower case, without a trailing slash
    app: ASGIApp
    below: str  # prefix + "/": the start of every path below the mount


class DefaultRootHttpRouter:
    """Dispatch requests to the app mounted at the matching path prefix.

    In order: the health endpoints (when a health service is given), the app whose
    path is a prefix of the request path (case-insensitive, on ``/`` boundaries),
    else a 404. Errors raised anywhere become Backstage's JSON error responses.
    The router itself is the ASGI app to serve.
    """

    def __init__(
        self,
        *,
        health: RootHealthService | None = None,
        health_headers: list[tuple[bytes, bytes]] | None = None,
        logger: LoggerService | None = None,
    ) -> None:
        """Create an empty router; ``health`` enables the health endpoints."""
        self._mounts: list[_Mount] = []
        self._server: HttpServer | None = None
        self._health = None if health is None else HealthEndpoints(health, health_headers)
        self._logger = logger

    @property
    def server(self) -> HttpServer | None:
        """The server that serves this router, once attached."""
        return self._server

    def attach_server(self, server: HttpServer) -> None:
        """Remember the server that serves this router (for :meth:`listen_address`)."""
        self._server = server

    def listen_address(self) -> tuple[str, int]:
        """Return the configured host and the real port of the attached server.

        Raises:
            BackendStateError: no server is attached, or it has not started.
        """
        if self._server is None:
            msg = "The root HTTP router has no server attached, so it has no listen address"
            raise BackendStateError(msg)
        return self._server.host, self._server.port

    @property
    def paths(self) -> tuple[str, ...]:
        """The paths registered with :meth:`use`, in order."""
        return tuple(mount.path for mount in self._mounts)

    def use(self, path: str, app: ASGIApp) -> None:
        """Serve ``app`` below ``path``.

        Raises:
            RouterError: ``Root router path may not be empty`` (also for ``/``).
            ConflictError: ``Path <new> conflicts with the existing path <old>`` when
                one normalised path is a prefix of the other.

        """
        if _EMPTY.match(path):
            msg = "Root router path may not be empty"
            raise RouterError(msg)
        if not path.startswith("/"):
            msg = f"Root router path '{path}' must start with '/'"
            raise RouterError(msg)
        normalized = normalize_root_path(path)
        for mount in self._mounts:
            existing = normalize_root_path(mount.path)
            if existing.startswith(normalized) or normalized.startswith(existing):
                msg = f"Path {path} conflicts with the existing path {mount.path}"
                raise ConflictError(msg)
        # a di_backend plugin router is entered inside this router's error handler
        entry = app.mounted if isinstance(app, DefaultHttpRouter) else app
        prefix = path.rstrip("/").lower()
        self._mounts.append(_Mount(path=path, prefix=prefix, app=entry, below=prefix + "/"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        await self._serve(scope, receive, send)

    @property
    def asgi_entry(self) -> ASGIApp:
        """What :meth:`__call__` calls: the server calls it directly, one call less."""
        return self._serve

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        # ErrorHandlerMiddleware's behaviour around the dispatch, in one coroutine: every
        # request passes here, and a handler wrapping a dispatch would be two.
        if scope["type"] not in ("http", "websocket"):
            return
        tracker = start_tracker(send)
        try:
            path: str = scope["path"]
            if path in HEALTH_PATHS and self._health is not None and self._health.matches(scope):
                await self._health(scope, receive, tracker)
                return
            lowered = path.lower()
            for mount in self._mounts:
                if lowered.startswith(mount.below) or lowered == mount.prefix:
                    # updated in place, as Starlette's Mount does
                    root_path = str(scope.get("root_path", ""))
                    scope["root_path"] = root_path + path[: len(mount.prefix)]
                    await mount.app(scope, receive, tracker)
                    return
            method = scope.get("method", "WEBSOCKET")
            msg = f"No route for {method} {path}: nothing is mounted at this path"
            await send_error(scope, tracker, NotFoundError(msg))
        except Exception as error:
            if await answer_failure(scope, send, tracker, error, self._logger):
                raise
