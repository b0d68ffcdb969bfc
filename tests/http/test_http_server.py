"""The uvicorn server: real ports, graceful drain, refused connections, health."""

from __future__ import annotations

import asyncio
import re
import socket
from datetime import timedelta

import httpx
import pytest
from http_support import (
    LOOPBACK,
    BackendMaker,
    client,
    fetch,
    make_backend_fixture,  # noqa: F401  # pyright: ignore[reportUnusedImport]
)
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router

from di_backend.config import ObservableConfig
from di_backend.errors import BackendStateError, ForwardedError
from di_backend.http import (
    DefaultRootHealthService,
    DefaultRootHttpRouter,
    HttpServer,
    ListenOptions,
)
from di_backend.http._health import read_health_headers
from di_backend.services import JsonValue

READINESS = "/.backstage/health/v1/readiness"
LIVENESS = "/.backstage/health/v1/liveness"


class TestPorts:
    async def test_port_zero_exposes_the_chosen_port(self, make_backend: BackendMaker) -> None:
        """With port 0 the server reports the real port it is listening on."""
        backend = await make_backend()
        assert backend.server.port > 0
        assert backend.root.listen_address() == (LOOPBACK, backend.server.port)
        async with client(backend.base_url) as http:
            assert (await http.get(LIVENESS)).status_code == 200

    def test_port_is_unknown_before_start(self) -> None:
        """Asking for the port of a server that never started is a clear error."""
        server = HttpServer(DefaultRootHttpRouter(), ListenOptions(LOOPBACK, 0))
        with pytest.raises(BackendStateError, match="has not been started yet"):
            _ = server.port

    async def test_a_taken_port_names_the_address_and_the_config_key(self) -> None:
        """Binding a port that is in use fails with the address and 'backend.listen'."""
        with socket.socket() as taken:
            taken.bind((LOOPBACK, 0))
            taken.listen()
            port = taken.getsockname()[1]
            server = HttpServer(DefaultRootHttpRouter(), ListenOptions(LOOPBACK, port))
            with pytest.raises(
                ForwardedError,
                match=re.escape(
                    f"Unable to listen on {LOOPBACK}:{port} (from config 'backend.listen'); "
                    "caused by OSError"
                ),
            ):
                await server.start()

    async def test_starting_twice_is_refused(self, make_backend: BackendMaker) -> None:
        """A server cannot be started a second time."""
        backend = await make_backend()
        with pytest.raises(BackendStateError, match="cannot be started twice"):
            await backend.server.start()


class TestGracefulStop:
    async def test_in_flight_requests_finish_and_new_connections_are_refused(
        self, make_backend: BackendMaker
    ) -> None:
        """stop() waits for a slow in-flight request; afterwards connecting is refused."""
        backend = await make_backend()
        entered = asyncio.Event()
        release = asyncio.Event()

        async def slow(request: Request) -> PlainTextResponse:
            entered.set()
            await release.wait()
            return PlainTextResponse("finished")

        backend.root.use("/api/slow", Router([Route("/", slow)]))
        async with client(backend.base_url) as http:
            request = asyncio.create_task(http.get("/api/slow/"))
            await asyncio.wait_for(entered.wait(), timeout=10)
            stopping = asyncio.create_task(backend.server.stop())
            await asyncio.sleep(0.2)
            assert not stopping.done(), "stop() must wait for the in-flight request"
            release.set()
            response = await asyncio.wait_for(request, timeout=10)
            await asyncio.wait_for(stopping, timeout=10)
        assert response.status_code == 200
        assert response.text == "finished"
        assert not backend.server.started
        async with client(backend.base_url) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(LIVENESS)

    async def test_stop_is_idempotent(self, make_backend: BackendMaker) -> None:
        """Concurrent and repeated stops all wait for one shutdown; a new server just stops."""
        backend = await make_backend()
        await asyncio.gather(backend.server.stop(), backend.server.stop())
        assert not backend.server.started
        await backend.server.stop()
        never = HttpServer(DefaultRootHttpRouter(), ListenOptions(LOOPBACK, 0))
        await never.stop()
        assert not never.started


class TestHealth:
    async def test_readiness_follows_startup_and_shutdown(self, make_backend: BackendMaker) -> None:
        """Readiness is 503 before start, 200 once started, 503 once shutdown begins."""
        backend = await make_backend()
        async with client(backend.base_url) as http:
            before = await http.get(READINESS)
            backend.health.mark_started()
            during = await http.get(READINESS)
            backend.health.mark_shutting_down()
            after = await http.get(READINESS)
            alive = await http.get(LIVENESS)
        assert (before.status_code, before.json()) == (
            503,
            {"message": "Backend has not started yet", "status": "error"},
        )
        assert (during.status_code, during.json()) == (200, {"status": "ok"})
        assert (after.status_code, after.json()) == (
            503,
            {"message": "Backend is shutting down", "status": "error"},
        )
        assert (alive.status_code, alive.json()) == (200, {"status": "ok"})

    async def test_shutdown_cannot_be_undone_by_a_late_start(self) -> None:
        """A backend that began shutting down never reports ready again."""
        health = DefaultRootHealthService()
        health.mark_shutting_down()
        health.mark_started()
        assert (await health.get_readiness()).status == 503

    async def test_health_headers_come_from_config(self) -> None:
        """backend.health.headers adds headers to health responses."""
        health = DefaultRootHealthService()
        headers = read_health_headers(
            ObservableConfig({"backend": {"health": {"headers": {"X-Probe": "yes"}}}})
        )
        router = DefaultRootHttpRouter(health=health, health_headers=headers)
        server = HttpServer(
            router, ListenOptions(LOOPBACK, 0), shutdown_timeout=timedelta(seconds=5)
        )
        await server.start()
        try:
            response = await fetch(f"http://{LOOPBACK}:{server.port}", LIVENESS)
        finally:
            await server.stop()
        assert response.headers["x-probe"] == "yes"

    @pytest.mark.parametrize(
        ("headers", "message"),
        [
            ({"": "x"}, "Invalid header name in at backend.health.headers"),
            ({"X-A": ""}, "Invalid header value in at backend.health.headers"),
            ({"X-A": 3}, "Invalid header value in at backend.health.headers"),
        ],
    )
    def test_bad_health_headers_are_refused(
        self, headers: dict[str, JsonValue], message: str
    ) -> None:
        """Empty header names or non-string values are refused with Backstage's message."""
        config = ObservableConfig({"backend": {"health": {"headers": headers}}})
        with pytest.raises(ValueError, match=re.escape(message)):
            read_health_headers(config)
