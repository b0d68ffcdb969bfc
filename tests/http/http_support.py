"""Test support: small backends assembled from the HTTP classes, served on loopback.

Test modules import the ``make_backend`` fixture from here (``tests/http`` has no
``conftest.py``: a second module named ``conftest`` would clash under mypy).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import httpx
import jwt
import pytest

from di_backend.config import ObservableConfig
from di_backend.http import (
    CredentialsBarrier,
    DefaultAuthService,
    DefaultHttpAuthService,
    DefaultHttpRouter,
    DefaultRootHealthService,
    DefaultRootHttpRouter,
    ExternalTokenHandler,
    HostDiscovery,
    HttpServer,
    JwksCache,
    KeyStore,
    LifecycleGate,
    ListenOptions,
    PluginTokenHandler,
)
from di_backend.http._jose import (
    PrivateKey,
    unverified_header,
)
from di_backend.services import JsonValue
from di_backend.testing import MockLogger, UserTokenIssuer

LOOPBACK = "127.0.0.1"


def b64url(data: bytes) -> str:
    """Encode ``data`` as unpadded base64url, as in a JWS."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def resign(token: str, claims: bytes, key: PrivateKey) -> str:
    """Return ``token`` with its claims replaced by the raw JSON ``claims``, signed with ``key``."""
    header = unverified_header(token)
    assert header is not None
    return jwt.PyJWS().encode(
        claims,
        key,
        algorithm=str(header["alg"]),
        headers={k: v for k, v in header.items() if k != "alg"},
    )


CLIENT_TIMEOUT = httpx.Timeout(10.0)


@dataclass
class MiniPlugin:
    """The HTTP services of one plugin of a :class:`MiniBackend`."""

    plugin_id: str
    auth: DefaultAuthService
    http_auth: DefaultHttpAuthService
    router: DefaultHttpRouter
    gate: LifecycleGate


class MiniBackend:
    """A backend made of the plain HTTP classes (no DI), on 127.0.0.1 with a free port."""

    def __init__(
        self,
        config: Mapping[str, JsonValue] | None = None,
        *,
        pause_timeout: timedelta = timedelta(seconds=5),
    ) -> None:
        self.config = ObservableConfig(dict(config or {}))
        self.health = DefaultRootHealthService()
        self.root = DefaultRootHttpRouter(health=self.health)
        self.server = HttpServer(
            self.root, ListenOptions(LOOPBACK, 0), shutdown_timeout=timedelta(seconds=5)
        )
        self.keys = KeyStore()
        self.jwks = JwksCache()
        self.tokens = PluginTokenHandler(self.keys, self.jwks)
        self.external = ExternalTokenHandler.from_config(self.config)
        self.logger = MockLogger()
        self.pause_timeout = pause_timeout
        self.plugins: dict[str, MiniPlugin] = {}
        self._discovery: HostDiscovery | None = None

    @property
    def discovery(self) -> HostDiscovery:
        assert self._discovery is not None, "start the backend first"
        return self._discovery

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.server.port}"

    async def start(self) -> None:
        await self.server.start()
        self.root.attach_server(self.server)
        self._discovery = HostDiscovery(self.config, listen_address=self.root.listen_address)

    def add_plugin(self, plugin_id: str, *, started: bool = True) -> MiniPlugin:
        auth = DefaultAuthService(
            plugin_id,
            keys=self.keys,
            plugin_tokens=self.tokens,
            external_tokens=self.external,
            discovery=self.discovery,
            logger=self.logger.child(plugin=plugin_id),
        )
        http_auth = DefaultHttpAuthService(auth)
        gate = LifecycleGate(plugin_id, self.pause_timeout)
        router = DefaultHttpRouter(
            plugin_id,
            auth=auth,
            gate=gate,
            barrier=CredentialsBarrier(plugin_id, http_auth),
        )
        self.root.use(router.base_path, router)
        if started:
            gate.mark_started()
        plugin = MiniPlugin(plugin_id, auth, http_auth, router, gate)
        self.plugins[plugin_id] = plugin
        return plugin

    async def stop(self) -> None:
        await self.server.stop()
        await self.jwks.aclose()


def client(base_url: str) -> httpx.AsyncClient:
    """Return a client for ``base_url`` with a bounded timeout."""
    return httpx.AsyncClient(base_url=base_url, timeout=CLIENT_TIMEOUT)


async def fetch(
    base_url: str, path: str, *, token: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """GET ``path`` from ``base_url`` with a fresh client, as bearer of ``token`` if given."""
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with client(base_url) as http:
        return await http.get(path, headers=headers)


class BackendMaker(Protocol):
    """The ``make_backend`` fixture: start a :class:`MiniBackend` stopped after the test."""

    def __call__(
        self,
        config: Mapping[str, JsonValue] | None = None,
        *,
        pause_timeout: timedelta = ...,
    ) -> Awaitable[MiniBackend]: ...


@pytest.fixture(name="make_backend")
async def make_backend_fixture() -> AsyncIterator[BackendMaker]:
    """Start mini backends on loopback; stop every one of them after the test."""
    backends: list[MiniBackend] = []

    async def make(
        config: Mapping[str, JsonValue] | None = None,
        *,
        pause_timeout: timedelta = timedelta(seconds=5),
    ) -> MiniBackend:
        backend = MiniBackend(config, pause_timeout=pause_timeout)
        await backend.start()
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        await backend.stop()


def serve_auth(backend: MiniBackend, issuer: UserTokenIssuer, ent: list[str] | None = None) -> None:
    """Serve ``issuer``'s JWKS and ``/v1/userinfo`` (answering ``ent``) as plugin ``auth``."""
    auth = backend.add_plugin("auth")
    auth.router.use(issuer.router(ent))
    auth.router.add_auth_policy(path="/.well-known", allow="unauthenticated")
    auth.router.add_auth_policy(path="/v1/userinfo", allow="unauthenticated")
