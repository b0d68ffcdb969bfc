"""Liveness and readiness: the default root health service and its HTTP endpoints."""

from __future__ import annotations

import json

from starlette.types import Receive, Scope, Send

from di_backend.services import ConfigService
from di_backend.services._http import HealthCheckResult, RootHealthService

__all__ = [
    "HEALTH_PATHS",
    "LIVENESS_PATH",
    "READINESS_PATH",
    "DefaultRootHealthService",
    "HealthEndpoints",
    "read_health_headers",
]

LIVENESS_PATH = "/.backstage/health/v1/liveness"
"""Where liveness is served."""

READINESS_PATH = "/.backstage/health/v1/readiness"
"""Where readiness is served."""

HEALTH_PATHS = frozenset((LIVENESS_PATH, READINESS_PATH))
"""The paths :class:`HealthEndpoints` answers (a quick membership test first)."""


class DefaultRootHealthService:
    """Readiness follows the backend's lifecycle: not started, started, shutting down.

    Call :meth:`mark_started` from the root startup hook and
    :meth:`mark_shutting_down` from the root before-shutdown hook.
    """

    def __init__(self) -> None:
        """Start in the "not started" state."""
        self._state = "starting"

    def mark_started(self) -> None:
        """Report ready (unless shutdown has begun)."""
        if self._state == "starting":
            self._state = "started"

    def mark_shutting_down(self) -> None:
        """Report not ready any more."""
        self._state = "stopping"

    async def get_liveness(self) -> HealthCheckResult:
        """Return ``200 {"status": "ok"}``: a process that answers is alive."""
        return HealthCheckResult(status=200, payload={"status": "ok"})

    async def get_readiness(self) -> HealthCheckResult:
        """Return 200 once started; 503 with the reason before that and while stopping."""
        if self._state == "starting":
            return HealthCheckResult(
                status=503, payload={"message": "Backend has not started yet", "status": "error"}
            )
        if self._state == "stopping":
            return HealthCheckResult(
                status=503, payload={"message": "Backend is shutting down", "status": "error"}
            )
        return HealthCheckResult(status=200, payload={"status": "ok"})


def read_health_headers(config: ConfigService) -> list[tuple[bytes, bytes]]:
    """Read ``backend.health.headers`` (extra headers on health responses).

    Raises:
        ValueError: a header name or value is not a non-empty string.

    """
    headers = config.get_optional("backend.health.headers")
    if headers is None:
        return []
    if not isinstance(headers, dict):
        msg = f"Invalid config at backend.health.headers, expected an object, got {headers!r}"
        raise ValueError(msg)
    result: list[tuple[bytes, bytes]] = []
    for name, value in headers.items():
        if not name:
            msg = "Invalid header name in at backend.health.headers, must be a non-empty string"
            raise ValueError(msg)
        if not isinstance(value, str) or not value:
            msg = "Invalid header value in at backend.health.headers, must be a non-empty string"
            raise ValueError(msg)
        result.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    return result


class HealthEndpoints:
    """Serve ``GET /.backstage/health/v1/liveness`` and ``.../readiness``."""

    def __init__(
        self, health: RootHealthService, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        """Answer from ``health``, adding ``headers`` to every response."""
        self._health = health
        self._headers = list(headers or [])

    def matches(self, scope: Scope) -> bool:
        """Return whether ``scope`` is a health request."""
        return (
            scope["type"] == "http"
            and scope.get("method") in ("GET", "HEAD")
            and scope.get("path") in (LIVENESS_PATH, READINESS_PATH)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a health request (only call it when :meth:`matches`)."""
        if scope.get("path") == LIVENESS_PATH:
            result = await self._health.get_liveness()
        else:
            result = await self._health.get_readiness()
        body = json.dumps(result.payload).encode() if result.payload is not None else b""
        headers = [
            *self._headers,
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": result.status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
