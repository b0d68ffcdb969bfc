"""Test support: small backends assembled from the HTTP classes, served on loopback.

Test modules import the ``make_backend`` fixture from here (``tests/http`` has no
``conftest.py``: a second module named ``conftest`` would clash under mypy).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

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
from di_backend.http._http_auth import bearer_token
from di_backend.http._jose import (
    PrivateKey,
    public_jwk,
    unverified_claims,
    unverified_header,
)
from di_backend.services import JsonValue

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


class UserTokenIssuer:
    """Mints user tokens exactly as Backstage's auth backend does (``issueUserToken``).

    The header is ``{typ: vnd.backstage.user, alg: ES256, kid}``; the claims
    ``iss, sub, ent, aud: backstage, iat, exp, uip``, where ``uip`` is the
    signature of the limited user token ``{typ, alg, kid}.{sub, iat, exp}``.
    :meth:`serve` publishes the keys as plugin ``auth`` of a mini backend, at
    ``/.well-known/jwks.json``, with ``/v1/userinfo`` beside them. The
    interop tests check the same against a real Backstage auth backend.
    """

    def __init__(self, *, kid: str = "auth-key-1") -> None:
        self.kid = kid
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.userinfo_calls = 0

    def _sign(self, header: Mapping[str, object], payload: bytes) -> str:
        # The header's fields in this order, as jose's setProtectedHeader writes them.
        signing_input = (
            f"{b64url(json.dumps(header, separators=(',', ':')).encode())}.{b64url(payload)}"
        )
        signer = ECAlgorithm(ECAlgorithm.SHA256)
        signature = signer.sign(signing_input.encode(), self.key)
        return f"{signing_input}.{b64url(signature)}"

    def issue(
        self,
        sub: str = "user:default/jane",
        ent: list[str] | None = None,
        *,
        ttl: timedelta = timedelta(hours=1),
        issued_at: int | None = None,
        omit_ent: bool = False,
    ) -> str:
        """A user token for ``sub`` owning ``ent`` (default ``[sub]``)."""
        iat = int(time.time()) if issued_at is None else issued_at
        exp = iat + int(ttl.total_seconds())
        limited_header = {"typ": "vnd.backstage.limited-user", "alg": "ES256", "kid": self.kid}
        limited_payload = json.dumps({"sub": sub, "iat": iat, "exp": exp}, separators=(",", ":"))
        uip = self._sign(limited_header, limited_payload.encode()).split(".")[2]
        claims: dict[str, object] = {
            "iss": "http://127.0.0.1/api/auth",
            "sub": sub,
            "ent": [sub] if ent is None else ent,
            "aud": "backstage",
            "iat": iat,
            "exp": exp,
            "uip": uip,
        }
        if omit_ent:
            del claims["ent"]
        header = {"typ": "vnd.backstage.user", "alg": "ES256", "kid": self.kid}
        return self._sign(header, json.dumps(claims, separators=(",", ":")).encode())

    def serve(self, backend: MiniBackend, ent: list[str] | None = None) -> None:
        """Serve the JWKS and ``/v1/userinfo`` (answering ``ent``) as plugin ``auth``."""
        jwk = {**public_jwk(self.kid, self.key)}

        async def jwks(_: Request) -> JSONResponse:
            return JSONResponse({"keys": [jwk]})

        async def userinfo(request: Request) -> JSONResponse:
            self.userinfo_calls += 1
            token = bearer_token(request) or ""
            claims = unverified_claims(token) or {}
            return JSONResponse({"claims": {"sub": claims.get("sub"), "ent": ent or []}})

        auth = backend.add_plugin("auth")
        auth.router.use(
            Router([Route("/.well-known/jwks.json", jwks), Route("/v1/userinfo", userinfo)])
        )
        auth.router.add_auth_policy(path="/.well-known", allow="unauthenticated")
        auth.router.add_auth_policy(path="/v1/userinfo", allow="unauthenticated")
