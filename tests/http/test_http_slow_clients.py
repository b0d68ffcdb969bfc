"""Slow and greedy clients cannot starve the server: header read timeout and connection cap.

Each test talks to a real :class:`HttpServer` on loopback over raw sockets, so that a
client can do what a well-behaved one never does: send its request head a byte at a
time, open connections and send nothing, or hold many connections open.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from http_support import LOOPBACK
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router

from di_backend.config import ConfigReader
from di_backend.errors import ConfigError
from di_backend.http import HttpServer
from di_backend.http._config_reading import ListenOptions
from di_backend.http._protocol import ServerLimits, default_max_connections, read_server_limits
from di_backend.services import JsonValue
from di_backend.testing import MockLogger

WAIT = 10.0  # seconds; bounds every read from the server
REQUEST = b"GET /hello HTTP/1.1\r\nhost: x\r\n\r\n"


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


APP = Router([Route("/hello", _hello)])


@pytest.fixture
async def serve() -> AsyncIterator[list[HttpServer]]:
    """Servers started by a test, stopped after it."""
    servers: list[HttpServer] = []
    yield servers
    for server in servers:
        await server.stop()


async def _server(
    servers: list[HttpServer], logger: MockLogger | None = None, **limits: object
) -> HttpServer:
    server = HttpServer(
        APP,
        ListenOptions(LOOPBACK, 0),
        shutdown_timeout=timedelta(seconds=2),
        logger=logger,
        limits=ServerLimits(**limits),  # type: ignore[arg-type]
    )
    await server.start()
    servers.append(server)
    return server


async def _connect(server: HttpServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(LOOPBACK, server.port)


async def _answer(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (bounded)."""
    return await asyncio.wait_for(reader.read(), WAIT)


async def test_a_head_sent_a_byte_at_a_time_is_cut_off(serve: list[HttpServer]) -> None:
    """A slowloris client gets ``408`` and a closed connection once the timeout passes."""
    server = await _server(serve, headers_timeout=timedelta(seconds=0.5))
    reader, writer = await _connect(server)
    began = time.monotonic()

    async def trickle() -> None:
        for byte in b"GET /hello HTTP/1.1\r\nhost: x\r\nx-slow: " + b"a" * 100:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.05)

    trickling = asyncio.create_task(trickle())
    answer = await _answer(reader)
    trickling.cancel()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert 0.4 < time.monotonic() - began < 3


async def test_a_connection_that_sends_nothing_is_closed(serve: list[HttpServer]) -> None:
    """A connection that never sends a byte is closed after the header timeout."""
    server = await _server(serve, headers_timeout=timedelta(seconds=0.3))
    reader, writer = await _connect(server)
    answer = await _answer(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer


async def test_a_partial_keep_alive_request_is_cut_off_too(serve: list[HttpServer]) -> None:
    """After a complete request, a second head left half-sent is timed out as well."""
    server = await _server(serve, headers_timeout=timedelta(seconds=0.5))
    reader, writer = await _connect(server)
    writer.write(REQUEST)
    first = await asyncio.wait_for(reader.readuntil(b"hello"), WAIT)
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    writer.write(b"GET /hello HTTP/1.1\r\nhost:")
    answer = await _answer(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer


async def test_a_timely_request_is_answered(serve: list[HttpServer]) -> None:
    """A head that arrives in pieces but within the timeout is served normally."""
    server = await _server(serve, headers_timeout=timedelta(seconds=2))
    reader, writer = await _connect(server)
    for part in (b"GET /hello HTTP/1.1\r\n", b"host: x\r\n", b"connection: close\r\n\r\n"):
        writer.write(part)
        await asyncio.sleep(0.1)
    answer = await _answer(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"hello")


async def test_connections_over_the_cap_get_503_and_are_closed(serve: list[HttpServer]) -> None:
    """With ``max_connections=3``, a fourth connection is refused; a freed slot serves again."""
    logger = MockLogger()
    server = await _server(serve, logger, max_connections=3)
    held = [await _connect(server) for _ in range(3)]
    await asyncio.sleep(0.1)  # the server has accepted all three
    reader, writer = await _connect(server)
    answer = await _answer(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), answer
    _, first = held.pop()
    first.close()
    await first.wait_closed()
    await asyncio.sleep(0.1)
    reader, writer = await _connect(server)
    writer.write(b"GET /hello HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    assert (await _answer(reader)).startswith(b"HTTP/1.1 200 OK")
    writer.close()
    for _, other in held:
        other.close()
    warnings = [r.message for r in logger.records if r.level == "warn"]
    assert warnings == [
        "Refused a connection: 3 connections are open (backend.server.maxConnections)"
    ]


async def test_refusals_are_logged_once_per_interval_with_a_count(
    serve: list[HttpServer],
) -> None:
    """Twenty timed-out connections give one warning line, not twenty."""
    logger = MockLogger()
    server = await _server(serve, logger, headers_timeout=timedelta(seconds=0.2))
    connections = [await _connect(server) for _ in range(20)]
    for reader, writer in connections:
        await _answer(reader)
        writer.close()
    warnings = [r.message for r in logger.records if r.level == "warn"]
    assert warnings == [
        "Closed a connection whose request head took longer than 0.2s "
        "(backend.server.headersTimeout)"
    ]


def test_limits_are_read_from_config_and_checked() -> None:
    """``backend.server.*`` sets the limits; bad values are config errors naming the key."""
    limits = read_server_limits(
        ConfigReader({"backend": {"server": {"headersTimeout": "15s", "maxConnections": 200}}})
    )
    assert (limits.headers_timeout, limits.max_connections) == (timedelta(seconds=15), 200)
    defaults = read_server_limits(ConfigReader({}))
    assert defaults.headers_timeout == timedelta(seconds=60)
    assert defaults.max_connections == default_max_connections()
    cases: list[tuple[dict[str, JsonValue], str]] = [
        ({"maxConnections": 2.5}, "backend.server.maxConnections"),
        ({"maxConnections": 0}, "backend.server.maxConnections"),
        ({"headersTimeout": 0}, "backend.server.headersTimeout"),
        ({"headersTimeout": "soon"}, "backend.server.headersTimeout"),
    ]
    for server, key in cases:
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            read_server_limits(ConfigReader({"backend": {"server": server}}))


def test_the_default_cap_stays_below_the_open_file_limit() -> None:
    """The default cap leaves room for the backend's own files below ``RLIMIT_NOFILE``."""
    resource = pytest.importorskip("resource")
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = default_max_connections()
    assert 16 <= cap <= 4096
    if soft != resource.RLIM_INFINITY and soft > 200:
        assert cap <= soft - 128
