"""One uvicorn server per backend, started and stopped from code (no signal handling)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import inspect
import math
import socket
from datetime import timedelta

import uvicorn
from starlette.types import ASGIApp

from di_backend._log_throttle import LogThrottle
from di_backend.errors import BackendStateError, ForwardedError
from di_backend.http._config_reading import ListenOptions
from di_backend.http._protocol import ServerLimits, guarded_protocol
from di_backend.services import LoggerService

__all__ = ["HttpServer", "display_host"]


def display_host(host: str) -> str:
    """Return the host to put in URLs for a listen host (``""``/``::`` -> ``localhost``)."""
    if host in ("", "::"):
        return "localhost"
    if host == "0.0.0.0":
        return "127.0.0.1"
    if ":" in host:
        return f"[{host}]"
    return host


# accept() errors after which asyncio waits a second before accepting again
_RESOURCE_ERRORS = frozenset((errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM))


class _ListeningSocket(socket.socket):
    """A listening socket that ends asyncio's accept burst after one resource error.

    On ``EMFILE``, ``ENFILE``, ``ENOBUFS`` or ``ENOMEM`` asyncio (3.11) reports the error,
    stops reading the socket and schedules one retry a second later, but its accept
    loop goes on up to the backlog (2048 under uvicorn), scheduling a retry for every
    failed attempt: thousands of timers a second, and each left over when the server
    closes raises ``Invalid file descriptor: -1`` on stderr (enough to fill a pipe and
    block the process at exit). After one resource error, the next ``accept`` of the
    same burst reports an empty queue instead, which ends the loop with that one retry.
    """

    _exhausted = False

    def accept(self) -> tuple[socket.socket, object]:
        """Accept a connection, as :meth:`socket.socket.accept` does (see the class)."""
        if self._exhausted:
            self._exhausted = False
            raise BlockingIOError(errno.EAGAIN, "accept burst ended after a resource error")
        try:
            return super().accept()
        except OSError as error:
            if error.errno in _RESOURCE_ERRORS:
                self._exhausted = True
            raise


def _tcp_server(
    address: tuple[str, int], family: socket.AddressFamily, *, dualstack: bool = False
) -> socket.socket:
    """A listening socket created with ``IPPROTO_TCP``.

    asyncio sets TCP_NODELAY on a connection only when its socket's ``proto`` is
    ``IPPROTO_TCP``; accepted sockets inherit it from the listener. With
    ``socket.create_server`` (proto 0) every keep-alive request after the first
    waited ~40 ms for the client's delayed ACK, because h11 writes head and body
    separately.
    """
    sock = _ListeningSocket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if dualstack else 1)
        sock.bind(address)
        sock.listen(socket.SOMAXCONN)
    except BaseException:
        sock.close()
        raise
    return sock


def _bind(options: ListenOptions) -> socket.socket:
    if options.host in ("", "::"):
        if socket.has_dualstack_ipv6():
            return _tcp_server(("", options.port), socket.AF_INET6, dualstack=True)
        return _tcp_server(("", options.port), socket.AF_INET)
    infos = socket.getaddrinfo(
        options.host, options.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, _, _, _, address = infos[0]
    host, port = address[0], address[1]
    return _tcp_server((str(host), int(port)), family)


class HttpServer:
    """Serve one ASGI app with uvicorn on a host and port.

    ``start`` binds and begins serving; ``stop`` refuses new connections, lets
    in-flight requests finish (up to ``shutdown_timeout``) and closes idle ones.
    """

    def __init__(
        self,
        app: ASGIApp,
        listen: ListenOptions,
        *,
        shutdown_timeout: timedelta | None = timedelta(seconds=30),
        logger: LoggerService | None = None,
        limits: ServerLimits | None = None,
    ) -> None:
        """Prepare a server for ``app``; nothing is bound until :meth:`start`.

        ``limits`` bounds how long a request head may take and how many
        connections may be open (default: :class:`ServerLimits`' defaults).
        """
        self._app = app
        self.limits = limits or ServerLimits()
        if self.limits.on_refused is None:
            self.limits.on_refused = self._refused
        self._throttle = LogThrottle()
        self._listen = listen
        self._logger = logger
        timeout = (
            None
            if shutdown_timeout is None
            else max(1, math.ceil(shutdown_timeout.total_seconds()))
        )
        self._config = uvicorn.Config(
            app,
            host=listen.host,
            port=listen.port,
            http=guarded_protocol(self.limits),
            # uvicorn's "auto" takes a bound coroutine method (the root router's entry)
            # for an ASGI 2 app; a coroutine function is an ASGI 3 app
            interface="asgi3" if inspect.iscoroutinefunction(app) else "auto",
            ws="none",
            lifespan="off",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            timeout_graceful_shutdown=timeout,
        )
        self._server = uvicorn.Server(self._config)
        self._socket: socket.socket | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._stopping: asyncio.Future[None] | None = None
        self._port: int | None = None
        self._state = "new"

    def _refused(self, reason: str) -> None:
        held = self._throttle.due(reason)
        if held is None or self._logger is None:
            return
        more = f" ({held} more since the last report)" if held else ""
        if reason == "timeout":
            seconds = self.limits.headers_timeout.total_seconds()
            self._logger.warn(
                f"Closed a connection whose request head took longer than {seconds:g}s "
                f"(backend.server.headersTimeout){more}"
            )
        else:
            self._logger.warn(
                f"Refused a connection: {self.limits.max_connections} connections are open "
                f"(backend.server.maxConnections){more}"
            )

    @property
    def host(self) -> str:
        """The configured listen host."""
        return self._listen.host

    @property
    def port(self) -> int:
        """The real port; the chosen one when the configured port was 0.

        Raises:
            BackendStateError: the server has not been started.

        """
        if self._port is None:
            msg = "The HTTP server has not been started yet, so its port is not known"
            raise BackendStateError(msg)
        return self._port

    @property
    def started(self) -> bool:
        """Whether the server is accepting connections."""
        return self._state == "started"

    async def start(self) -> None:
        """Bind the socket and start serving.

        Raises:
            ForwardedError: the address could not be bound; names host and port.
            BackendStateError: the server was started before.

        """
        if self._state != "new":
            msg = f"The HTTP server cannot be started twice (it is {self._state})"
            raise BackendStateError(msg)
        self._state = "starting"
        try:
            sock = _bind(self._listen)
        except OSError as error:
            self._state = "stopped"
            where = f"{self._listen.host or '*'}:{self._listen.port}"
            msg = f"Unable to listen on {where} (from config 'backend.listen')"
            raise ForwardedError(msg, error) from error
        self._socket = sock
        self._port = int(sock.getsockname()[1])
        try:
            self._config.load()
            self._server.lifespan = self._config.lifespan_class(self._config)
            await self._server.startup(sockets=[sock])
        except BaseException:
            sock.close()
            self._state = "stopped"
            raise
        self._ticker = asyncio.create_task(self._server.main_loop(), name="di-backend-http-ticker")
        self._state = "started"
        if self._logger is not None:
            self._logger.info(f"Listening on http://{display_host(self._listen.host)}:{self._port}")

    async def stop(self) -> None:
        """Stop serving: refuse new connections and wait for in-flight requests.

        Idempotent: later and concurrent calls wait for the first one; a server
        that never started just becomes stopped.
        """
        if self._stopping is None:
            if self._state != "started":
                self._state = "stopped"
                return
            self._stopping = asyncio.ensure_future(self._shutdown())
        await asyncio.shield(self._stopping)

    async def _close_and_drain(self) -> None:
        """Do what uvicorn's ``Server.shutdown`` does, without its fixed 100 ms pause.

        Stop accepting, ask every connection to close once its response is sent
        (idle keep-alive ones close now), then wait for connections and request
        tasks to finish, polling quickly at first; after ``shutdown_timeout`` the
        remaining request tasks are cancelled.
        """
        server = self._server
        for listener in server.servers:
            listener.close()
        if self._socket is not None:
            self._socket.close()
        state = server.server_state
        for connection in list(state.connections):
            connection.shutdown()

        async def drained() -> None:
            delay = 0.001
            while state.connections or state.tasks:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)

        try:
            await asyncio.wait_for(drained(), timeout=self._config.timeout_graceful_shutdown)
        except TimeoutError:
            if self._logger is not None:
                self._logger.error(
                    f"Cancelled {len(state.tasks)} request(s) still running after "
                    "backend.lifecycle.serverShutdownTimeout"
                )
            for task in list(state.tasks):
                task.cancel(msg="The server's shutdown timeout passed")

    async def _shutdown(self) -> None:
        self._state = "stopping"
        self._server.should_exit = True
        if self._ticker is not None:
            # The ticker only refreshes the Date header; no need to wait for its next tick.
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        try:
            await self._close_and_drain()
        finally:
            self._state = "stopped"
        if self._logger is not None:
            self._logger.info("HTTP server stopped")
