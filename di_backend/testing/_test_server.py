"""The test server of a test backend: its URL and httpx clients for it.

``start_test_backend`` returns a backend that serves HTTP on 127.0.0.1 with a
free port once a feature uses HTTP; :func:`server_url`, :func:`http_client`
and :func:`sync_http_client` reach it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from di_backend._backend import Backend
from di_backend._core_services import core_services
from di_backend._initializer import BackendInitializer
from di_backend._results import BackendStartupResult
from di_backend.errors import BackendStateError
from di_backend.testing import _live
from di_backend.testing._mock_http import served_base_url, serving_root_http_router_factory

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_CLIENT_TIMEOUT",
    "TestBackendImpl",
    "http_client",
    "server_url",
    "sync_http_client",
]

DEFAULT_CLIENT_TIMEOUT: Final = 10.0
"""Seconds a test client waits for the test server (connect, read, write, pool)."""

_NOT_AVAILABLE = "TestBackend server is not available"


class TestBackendImpl(Backend):
    """The backend ``start_test_backend`` returns: it knows its loop and its test server."""

    __test__ = False  # a library class, not a pytest test class
    __slots__ = ("_loop", "_stopped")

    def __init__(self, initializer: BackendInitializer) -> None:
        """Wrap an initializer; use ``start_test_backend`` instead."""
        super().__init__(initializer)
        self._stopped = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"<TestBackend {self._initializer.registry.container!r}>"

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the backend was started in (and its server runs in)."""
        return self._loop

    async def start(self) -> BackendStartupResult:
        """Start every feature; see :meth:`Backend.start`."""
        self._loop = asyncio.get_running_loop()
        return await super().start()

    async def stop(self) -> None:
        """Run shutdown hooks and teardowns (the test server stops); idempotent."""
        self._stopped = True
        try:
            await super().stop()
        finally:
            _live.untrack(self)

    def server_url(self) -> str:
        """Return the test server's base URL; see :func:`server_url`."""
        registry = self._initializer.registry
        if serving_root_http_router_factory not in registry._candidates(
            core_services.root_http_router
        ):
            raise BackendStateError(_NOT_AVAILABLE)
        if self._stopped:
            msg = f"{_NOT_AVAILABLE}: the test backend has been stopped"
            raise BackendStateError(msg)
        router = registry.container.peek(core_services.root_http_router, None)
        url = None if router is None else served_base_url(router)
        if url is None:
            msg = (
                f"{_NOT_AVAILABLE}: no feature of this test backend uses HTTP, so no server "
                "was started (one starts for core_services.http_router, root_http_router "
                "or discovery)"
            )
            raise BackendStateError(msg)
        return url


def _test_backend(backend: Backend) -> TestBackendImpl:
    if not isinstance(backend, TestBackendImpl):
        msg = (
            f"{_NOT_AVAILABLE}: {backend!r} was not started by start_test_backend (or the "
            "test_backend / sync_test_backend fixtures)"
        )
        raise BackendStateError(msg)
    return backend


def server_url(backend: Backend) -> str:
    """Return the base URL of a test backend's server: ``http://127.0.0.1:<port>``.

    Plugins are served below ``/api/<plugin_id>``; the health endpoints at
    ``/.backstage/health/v1/...``.

    Raises:
        BackendStateError: ``TestBackend server is not available``: a feature
            replaced ``core_services.root_http_router``; or (with a reason after
            the message) no feature uses HTTP, the backend has stopped, or it is
            not a test backend.
    """
    return _test_backend(backend).server_url()


def http_client(
    backend: Backend,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_CLIENT_TIMEOUT,
) -> httpx.AsyncClient:
    """Return an ``httpx.AsyncClient`` for a test backend's server; use it as ``async with``.

    Relative URLs go to :func:`server_url`, e.g. ``client.get("/api/todo/items")``.

    Args:
        backend: a backend started by ``start_test_backend`` (or the fixtures).
        headers: sent with every request, e.g.
            ``{"Authorization": mock_credentials.service.header()}``.
        timeout: seconds to wait for the server.

    Raises:
        BackendStateError: the server is not available (see :func:`server_url`).
    """
    import httpx

    return httpx.AsyncClient(base_url=server_url(backend), headers=headers, timeout=timeout)


def sync_http_client(
    backend: Backend,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_CLIENT_TIMEOUT,
) -> httpx.Client:
    """Return a blocking ``httpx.Client`` for a test backend's server, for plain tests.

    Use it with backends of the ``sync_test_backend`` fixture, which run on a
    background loop; the arguments are those of :func:`http_client`.

    Raises:
        BackendStateError: called from the event loop that serves the backend
            (a blocking request there would never be answered), or the server is
            not available (see :func:`server_url`).
    """
    import httpx

    test_backend = _test_backend(backend)
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None and running is test_backend.loop:
        msg = (
            "sync_http_client() cannot be used in the event loop that serves the backend: a "
            "blocking request would never be answered; use http_client() instead"
        )
        raise BackendStateError(msg)
    return httpx.Client(base_url=test_backend.server_url(), headers=headers, timeout=timeout)
