"""uvicorn's h11 protocol with the limits a server on an open network needs.

* **Header read timeout** (``backend.server.headersTimeout``, default 60 s, Node's
  default): a connection whose request head is not complete that long after the
  connection opened, or after the first byte of a keep-alive request, is answered
  ``408 Request Timeout`` and closed. Without it, clients that send their headers a
  byte at a time (slowloris) hold connections forever.
* **Connection cap** (``backend.server.maxConnections``): a connection over the cap is
  answered ``503 Service Unavailable`` and closed at once, so that slow or idle
  clients cannot exhaust the process's file descriptors. The default stays below the
  open-file limit: the soft ``RLIMIT_NOFILE`` less 128 for the backend's own files
  and sockets, at most 4096 and at least 16.

Idle keep-alive connections are closed by uvicorn's own keep-alive timeout (5 s).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import cast

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from di_backend.http._config_reading import read_duration
from di_backend.services import ConfigService

__all__ = ["ServerLimits", "default_max_connections", "guarded_protocol", "read_server_limits"]

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
)
_BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
)
_RESERVED_FILES = 128  # for the backend's own files, database and outbound sockets


def default_max_connections() -> int:
    """The default connection cap: below the process's soft open-file limit."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows has no RLIMIT_NOFILE
        return 4096
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 4096
    return max(16, min(4096, soft - _RESERVED_FILES))


class ServerLimits:
    """The connection limits of one HTTP server.

    Attributes:
        headers_timeout: how long a request head may take to arrive.
        max_connections: how many connections may be open at once.
        on_refused: called with ``"timeout"`` or ``"busy"`` for each connection closed
            by a limit (the server counts them).
    """

    __slots__ = ("headers_timeout", "max_connections", "on_refused")

    def __init__(
        self,
        *,
        headers_timeout: timedelta = timedelta(seconds=60),
        max_connections: int | None = None,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        """Set the limits; ``max_connections=None`` uses :func:`default_max_connections`."""
        self.headers_timeout = headers_timeout
        self.max_connections = (
            default_max_connections() if max_connections is None else max_connections
        )
        self.on_refused = on_refused


def read_server_limits(config: ConfigService) -> ServerLimits:
    """Read ``backend.server.headersTimeout`` and ``backend.server.maxConnections``.

    Raises:
        ConfigTypeError: a value of the wrong type; the message names the key.
        ConfigError: ``maxConnections`` is not a whole number of at least 1, or the
            timeout is not positive.
    """
    from di_backend.errors import ConfigError

    timeout = read_duration(config, "backend.server.headersTimeout", timedelta(seconds=60))
    if timeout <= timedelta(0):
        msg = "Invalid config at backend.server.headersTimeout, the timeout must be positive"
        raise ConfigError(msg)
    cap = config.get_optional_number("backend.server.maxConnections")
    if cap is not None and (cap != int(cap) or cap < 1):
        msg = (
            "Invalid config at backend.server.maxConnections, must be a whole number of at "
            f"least 1, got {cap}"
        )
        raise ConfigError(msg)
    return ServerLimits(headers_timeout=timeout, max_connections=None if cap is None else int(cap))


def guarded_protocol(limits: ServerLimits) -> type[H11Protocol]:
    """Return an h11 protocol class for uvicorn's ``http=`` that enforces ``limits``."""
    timeout = limits.headers_timeout.total_seconds()

    class GuardedH11Protocol(H11Protocol):
        """uvicorn's h11 protocol with a header read timeout and a connection cap."""

        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(cast("asyncio.Transport", transport))
            if len(self.connections) > limits.max_connections:
                self._refuse(_BUSY_RESPONSE, "busy")
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.transport.is_closing():
                self._disarm()
            elif self.conn.their_state is h11.IDLE:
                if self._head_timer is None:  # the first bytes of a keep-alive request
                    self._arm()
            else:  # the request head is complete
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._head_timer = self.loop.call_later(timeout, self._head_timed_out)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._refuse(_TIMEOUT_RESPONSE, "timeout")

        def _refuse(self, response: bytes, reason: str) -> None:
            self.transport.write(response)
            self.transport.close()
            if limits.on_refused is not None:
                limits.on_refused(reason)

    return GuardedH11Protocol
