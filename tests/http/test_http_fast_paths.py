"""Fast paths of the HTTP layer: TCP_NODELAY, reused service tokens, cached verification."""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import os
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import cast
from unittest import mock

import pytest
from http_support import (
    BackendMaker,
    MiniBackend,
    MiniPlugin,
    fetch,
    make_backend_fixture,  # noqa: F401  # pyright: ignore[reportUnusedImport]
)
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from di_backend.http import ListenOptions
from di_backend.http._auth import DefaultAuthService
from di_backend.http._errors import AuthenticationError
from di_backend.http._http_auth import DefaultHttpAuthService
from di_backend.http._jwks_client import JwksCache
from di_backend.http._keys import KeyStore
from di_backend.http._plugin_tokens import PluginTokenHandler, VerifiedPluginToken
from di_backend.http._server import _bind
from di_backend.services import BackstageCredentials, BackstagePrincipal, DiscoveryService
from di_backend.services._credentials import AuthPolicyAllow, BackstageServicePrincipal
from di_backend.services._http import AuthService


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
        assert stale.expires_at is not None
        pong._verified[(token, False)] = (stale, stale.expires_at.timestamp())
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


async def _pong_and_tokens(
    make_backend: BackendMaker, *callers: str
) -> tuple[MiniBackend, MiniPlugin, tuple[str, ...]]:
    """A new backend, its plugin ``pong``, and a service token to ``pong`` from each caller."""
    backend = await make_backend()
    pong = backend.add_plugin("pong")
    tokens = tuple(
        backend.tokens.issue(source_plugin_id=caller, target_plugin_id="pong")[0]
        for caller in callers
    )
    return backend, pong, tokens


class TestVerifiedTokenShortcut:
    async def test_a_token_verified_before_skips_authenticate_until_it_expires(
        self, make_backend: BackendMaker
    ) -> None:
        """A request's token the auth service verified earlier needs no authenticate call."""
        _, pong, (token,) = await _pong_and_tokens(make_backend, "ping")

        def request() -> HTTPConnection:
            headers = [(b"authorization", f"Bearer {token}".encode())]
            return HTTPConnection({**_scope(headers), "state": {}})

        first = await pong.http_auth.credentials(request(), allow=["service"])  # verifies
        calls: list[str] = []
        original = pong.auth.authenticate

        async def counting(
            token: str, *, allow_limited_access: bool = False
        ) -> BackstageCredentials[BackstagePrincipal]:
            calls.append(token)
            return await original(token, allow_limited_access=allow_limited_access)

        with mock.patch.object(pong.auth, "authenticate", counting):
            again = await pong.http_auth.credentials(request(), allow=["service"])
            assert calls == []
            assert again is first
            assert first.expires_at is not None
            pong.auth._verified[(token, False)] = (first, time.time() - 1)  # expired
            renewed = await pong.http_auth.credentials(request(), allow=["service"])
        assert calls == [token]
        assert renewed.principal.subject == "plugin:ping"

    async def test_a_subclass_of_the_auth_service_is_always_asked(self) -> None:
        """Only the default auth service's cache is read directly; a subclass authenticates."""

        class Custom(DefaultAuthService):
            pass

        custom = Custom.__new__(Custom)
        assert DefaultHttpAuthService(custom)._verified is None


def _scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http",
        "method": "GET",
        "path": "/x",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
    }


class TestBearerToken:
    @pytest.mark.parametrize(
        "headers",
        [
            [],
            [(b"authorization", b"Bearer abc")],
            [(b"authorization", b"bearer   abc  ")],
            [(b"authorization", b"Basic abc")],
            [(b"authorization", b"Bearer ")],
            [(b"authorization", b"Bearer one"), (b"authorization", b"Bearer two")],
            [(b"x-other", b"Bearer no"), (b"authorization", b"Bearer \xe9t\xe9")],
        ],
    )
    def test_reading_raw_headers_matches_starlette_headers(
        self, headers: list[tuple[bytes, bytes]]
    ) -> None:
        """The raw-header scan finds the same token as reading ``request.headers`` would."""
        from starlette.requests import HTTPConnection

        from di_backend.http._http_auth import bearer_token

        request = HTTPConnection(_scope(headers))
        header = request.headers.get("authorization")
        expected: str | None = None
        if header is not None:
            scheme, _, token = header.strip().partition(" ")
            expected = (token.strip() or None) if scheme.lower() == "bearer" else None
        assert bearer_token(request) == expected


class TestNestedErrorHandlers:
    async def test_an_inner_handler_reuses_the_outer_tracker(self) -> None:
        """A nested error handler passes the outer one's send through: one wrapper per request."""
        from di_backend.http._error_handler import ErrorHandlerMiddleware

        seen: list[object] = []

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(send)

        inner = ErrorHandlerMiddleware(app)
        outer = ErrorHandlerMiddleware(inner)

        async def receive() -> Message:
            return {"type": "http.request"}

        async def send(message: Message) -> None:
            return None

        await outer(_scope([]), receive, send)
        await inner(_scope([]), receive, send)
        assert type(seen[0]).__name__ == "_StartTracker"
        assert seen[0] is not seen[1]  # a fresh tracker when there is no outer one

    @pytest.mark.parametrize("after_start", [False, True])
    async def test_nested_handlers_answer_and_log_as_separate_ones_did(
        self, after_start: bool
    ) -> None:
        """Before the response starts one JSON 500 is sent; after, both log and it re-raises."""
        from di_backend.http._error_handler import ErrorHandlerMiddleware
        from di_backend.testing import MockLogger

        inner_log, outer_log = MockLogger(level="error"), MockLogger(level="error")

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if after_start:
                await send({"type": "http.response.start", "status": 200, "headers": []})
            raise RuntimeError("boom")

        inner = ErrorHandlerMiddleware(app, logger=inner_log)
        outer = ErrorHandlerMiddleware(inner, logger=outer_log)
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request"}

        async def send(message: Message) -> None:
            sent.append(message)

        if after_start:
            with pytest.raises(RuntimeError, match="boom"):
                await outer(_scope([]), receive, send)
            assert [m["type"] for m in sent] == ["http.response.start"]
            message = "Request failed after the response started: GET /x"
            assert [e.message for e in inner_log.records] == [message]
            assert [e.message for e in outer_log.records] == [message]
        else:
            await outer(_scope([]), receive, send)
            assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
            assert sent[0]["status"] == 500
            assert [e.message for e in inner_log.records] == [
                "Request failed with status 500: GET /x"
            ]
            assert outer_log.records == []


class _NoKeys:
    """An auth service stand-in for routers whose JWKS endpoint is never asked."""

    async def list_public_service_keys(self) -> dict[str, object]:
        return {"keys": []}


async def _call(app: ASGIApp, path: str) -> list[Message]:
    """Call ``app`` with a GET of ``path`` and return what it sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {**_scope([]), "path": path, "raw_path": path.encode()}
    await app(scope, receive, send)
    return sent


class TestMountedPluginRouter:
    @pytest.mark.parametrize("mounted", [True, False])
    async def test_errors_are_answered_and_logged_with_the_plugins_logger_once(
        self, mounted: bool
    ) -> None:
        """Mounted or called alone, a plugin router's 500 is the same and logged once by it."""
        from starlette.routing import Route, Router

        from di_backend.http import DefaultRootHttpRouter
        from di_backend.http._auth_policies import CredentialsBarrier
        from di_backend.http._lifecycle_gate import LifecycleGate
        from di_backend.http._plugin_router import DefaultHttpRouter
        from di_backend.testing import MockLogger, mock_services

        async def boom(request: object) -> None:
            raise RuntimeError("boom")

        root_log, plugin_log = MockLogger(level="error"), MockLogger(level="error")
        gate = LifecycleGate("p")
        gate.mark_started()
        http_auth = mock_services.http_auth()
        router = DefaultHttpRouter(
            "p",
            auth=cast("AuthService", _NoKeys()),
            gate=gate,
            barrier=CredentialsBarrier("p", http_auth, disabled=True),
            logger=plugin_log,
        )
        router.use(Router([Route("/x", boom)]))
        root = DefaultRootHttpRouter(logger=root_log)
        root.use("/api/p", router)
        if mounted:
            sent = await _call(root.asgi_entry, "/api/p/x")
        else:
            sent = await _call(router, "/x")
        assert sent[0]["status"] == 500
        body = json.loads(sent[1]["body"])
        assert body["error"] == {"name": "RuntimeError", "message": "boom"}
        path = "/api/p/x" if mounted else "/x"
        assert [e.message for e in plugin_log.records] == [
            f"Request failed with status 500: GET {path}"
        ]
        assert root_log.records == []


class TestCredentialsShortcut:
    async def test_the_route_sees_a_header_changed_after_the_barrier(
        self, make_backend: BackendMaker
    ) -> None:
        """The route's lookup skips work only while the Authorization value is the one parsed."""
        from starlette.requests import HTTPConnection

        backend, pong, (first, second) = await _pong_and_tokens(make_backend, "ping", "pang")
        subjects: list[str] = []

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            connection = HTTPConnection(scope)
            before = await pong.http_auth.credentials(connection, allow=["service"])
            scope["headers"] = [
                (name, f"Bearer {second}".encode() if name == b"authorization" else value)
                for name, value in scope["headers"]
            ]
            after = await pong.http_auth.credentials(connection, allow=["service"])
            subjects.extend([before.principal.subject, after.principal.subject])
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        pong.router.use(app)
        response = await fetch(backend.base_url, "/api/pong/anything", token=first)
        assert response.status_code == 204
        assert subjects == ["plugin:ping", "plugin:pang"]


_POLICY_PATHS = ["/", "*", "/open", "/open/:id", "/files/*", "/Health"]
_REQUEST_PATHS = ["", "/", "/open", "/open/1", "/opener", "/files/a/b", "/health/db", "/x"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(_POLICY_PATHS), st.sampled_from(["unauthenticated", "user-cookie"])
        ),
        max_size=4,
    ),
    st.sampled_from(_REQUEST_PATHS),
)
def test_the_barrier_asks_what_its_policies_say(
    policies: list[tuple[str, AuthPolicyAllow]], path: str
) -> None:
    """The barrier's answer is the rule over every matching policy, as a list of them gives it."""
    from di_backend.http._auth_policies import CredentialsBarrier
    from di_backend.testing import mock_services

    barrier = CredentialsBarrier("p", mock_services.http_auth())
    for policy_path, allow in policies:
        barrier.add_auth_policy(path=policy_path, allow=allow)
    matching = [policy.allow for policy in barrier.policies if policy.matches(path)]
    expected = None if "unauthenticated" in matching else "user-cookie" in matching
    assert barrier.credentials_needed(path) == expected


class TestAcceptBurst:
    @pytest.mark.parametrize("code", [errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM])
    def test_one_resource_error_ends_the_burst(self, code: int) -> None:
        """After a resource error the next accept reports an empty queue, then accepts again."""
        sock = _bind(ListenOptions(host="127.0.0.1", port=0))
        try:
            failure = OSError(code, os.strerror(code))
            with mock.patch.object(socket.socket, "accept", side_effect=failure):
                with pytest.raises(OSError, match=os.strerror(code)) as first:
                    sock.accept()
                assert first.value.errno == code
                with pytest.raises(BlockingIOError):
                    sock.accept()  # the rest of asyncio's loop ends here: one retry, not 2048
                with pytest.raises(OSError, match=os.strerror(code)) as again:
                    sock.accept()  # the retry a second later tries for real
                assert again.value.errno == code
        finally:
            sock.close()

    def test_other_errors_and_connections_pass_through(self) -> None:
        """Any other accept error propagates each time, and connections are accepted as usual."""
        sock = _bind(ListenOptions(host="127.0.0.1", port=0))
        try:
            with mock.patch.object(
                socket.socket, "accept", side_effect=ConnectionAbortedError(errno.ECONNABORTED, "x")
            ):
                for _ in range(2):
                    with pytest.raises(ConnectionAbortedError):
                        sock.accept()
            client = socket.create_connection(sock.getsockname()[:2], timeout=5)
            accepted, _ = sock.accept()
            assert type(accepted) is socket.socket
            accepted.close()
            client.close()
        finally:
            sock.close()
