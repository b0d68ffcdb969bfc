"""Fast paths of the HTTP layer: TCP_NODELAY, reused service tokens, cached verification."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
from http_support import (
    BackendMaker,
    make_backend_fixture,  # noqa: F401  # pyright: ignore[reportUnusedImport]
)

from di_backend.http import ListenOptions
from di_backend.http._errors import AuthenticationError
from di_backend.http._jwks_client import JwksCache
from di_backend.http._keys import KeyStore
from di_backend.http._plugin_tokens import PluginTokenHandler, VerifiedPluginToken
from di_backend.http._server import _bind
from di_backend.services import BackstageCredentials, BackstagePrincipal, DiscoveryService
from di_backend.services._credentials import BackstageServicePrincipal


class TestNoDelay:
    def test_the_listening_socket_is_tcp(self) -> None:
        """The server's socket is created with IPPROTO_TCP, which asyncio needs for NODELAY."""
        sock = _bind(ListenOptions(host="127.0.0.1", port=0))
        try:
            assert sock.proto == socket.IPPROTO_TCP
        finally:
            sock.close()

    async def test_accepted_connections_have_tcp_nodelay(self) -> None:
        """Connections accepted on the server's socket have TCP_NODELAY set by asyncio."""
        sock = _bind(ListenOptions(host="127.0.0.1", port=0))
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted: socket.socket = writer.get_extra_info("socket")
            seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accept, sock=sock)
        try:
            port = sock.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            async with asyncio.timeout(5):
                assert await seen != 0
            writer.close()
        finally:
            server.close()
            await server.wait_closed()


class TestIssuedTokens:
    def test_a_token_is_reused_until_half_its_lifetime(self) -> None:
        """The same (source, target) token is returned until half its lifetime has passed."""
        now = [datetime(2026, 1, 1, tzinfo=UTC)]
        handler = PluginTokenHandler(
            KeyStore(), JwksCache(), token_ttl=timedelta(hours=1), clock=lambda: now[0]
        )
        first, expires = handler.issue(source_plugin_id="a", target_plugin_id="b")
        now[0] += timedelta(minutes=29)
        assert handler.issue(source_plugin_id="a", target_plugin_id="b") == (first, expires)
        assert handler.issue(source_plugin_id="a", target_plugin_id="c")[0] != first
        now[0] += timedelta(minutes=2)
        renewed, renewed_expiry = handler.issue(source_plugin_id="a", target_plugin_id="b")
        assert renewed != first
        assert renewed_expiry == now[0] + timedelta(hours=1)


class _CountingTokens(PluginTokenHandler):
    calls = 0

    async def verify(
        self, token: str, *, own_plugin_id: str, discovery: DiscoveryService
    ) -> VerifiedPluginToken:
        type(self).calls += 1
        return await super().verify(token, own_plugin_id=own_plugin_id, discovery=discovery)


class TestVerificationCache:
    async def test_a_verified_token_is_not_verified_again(self, make_backend: BackendMaker) -> None:
        """A plugin token accepted once is answered from the cache, with the same subject."""
        backend = await make_backend()
        _CountingTokens.calls = 0
        counting = _CountingTokens(backend.keys, JwksCache())
        pong = backend.add_plugin("pong").auth
        pong._plugin_tokens = counting
        token, _ = counting.issue(source_plugin_id="ping", target_plugin_id="pong")
        first = await pong.authenticate(token)
        second = await pong.authenticate(token)
        assert _CountingTokens.calls == 1
        assert second is first
        assert first.principal.subject == "plugin:ping"

    async def test_an_expired_cached_token_is_verified_again(
        self, make_backend: BackendMaker
    ) -> None:
        """A cached credential past its expiry is dropped and the token verified afresh."""
        backend = await make_backend()
        _CountingTokens.calls = 0
        counting = _CountingTokens(backend.keys, JwksCache())
        pong = backend.add_plugin("pong").auth
        pong._plugin_tokens = counting
        token, _ = counting.issue(source_plugin_id="ping", target_plugin_id="pong")
        stale: BackstageCredentials[BackstagePrincipal] = BackstageCredentials(
            principal=BackstageServicePrincipal(subject="plugin:stale"),
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
            token=token,
        )
        pong._verified[(token, False)] = stale
        fresh = await pong.authenticate(token)
        assert _CountingTokens.calls == 1
        assert fresh.principal.subject == "plugin:ping"

    async def test_a_forged_token_is_never_cached(self, make_backend: BackendMaker) -> None:
        """A token whose payload was altered fails its signature every time, never remembered."""
        backend = await make_backend()
        pong = backend.add_plugin("pong").auth
        valid, _ = backend.tokens.issue(source_plugin_id="ping", target_plugin_id="pong")
        header, payload, signature = valid.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["sub"] = "evil"
        forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
        token = f"{header}.{forged_payload.decode()}.{signature}"
        for _ in range(2):
            with pytest.raises(
                AuthenticationError,
                match="the token from plugin 'evil' does not verify: the signature",
            ):
                await pong.authenticate(token)
        assert (token, False) not in pong._verified
