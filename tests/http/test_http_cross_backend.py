"""Service tokens across two backends: JWKS published, fetched through discovery, cached."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from unittest.mock import AsyncMock, patch

import pytest
from http_support import (
    LOOPBACK,
    BackendMaker,
    MiniBackend,
    MiniPlugin,
    fetch,
    make_backend_fixture,  # noqa: F401  # pyright: ignore[reportUnusedImport]
)
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend.http import AuthenticationError, JwksCache, PluginTokenHandler
from di_backend.http._jose import unverified_header
from di_backend.services import JsonValue


def _endpoints(**targets: str) -> dict[str, JsonValue]:
    return {
        "discovery": {
            "endpoints": [
                {"target": f"{url}/api/{{{{pluginId}}}}", "plugins": [plugin]}
                for plugin, url in targets.items()
            ]
        }
    }


async def _split(make_backend: BackendMaker) -> tuple[MiniBackend, MiniBackend]:
    """Backend A hosts 'ping', backend B hosts 'pong'; each one's discovery knows the other."""
    a = await make_backend()
    b = await make_backend()
    a.config.update(_endpoints(pong=b.base_url))
    b.config.update(_endpoints(ping=a.base_url))
    a.add_plugin("ping")
    pong = b.add_plugin("pong")

    async def handle(request: Request) -> JSONResponse:
        credentials = await pong.http_auth.credentials(request, allow=["service"])
        return JSONResponse({"pong": credentials.principal.subject})

    pong.router.use(Router([Route("/ping", handle)]))
    return a, b


async def _call_pong(backend: MiniBackend, caller: MiniPlugin) -> tuple[int, object]:
    base_url = await backend.discovery.get_base_url("pong")
    own = await caller.auth.get_own_service_credentials()
    token = await caller.auth.get_plugin_request_token(on_behalf_of=own, target_plugin_id="pong")
    response = await fetch(base_url, "/ping", token=token.token)
    return response.status_code, response.json()


class TestTwoBackends:
    async def test_a_plugin_calls_a_plugin_in_another_backend(
        self, make_backend: BackendMaker
    ) -> None:
        """B verifies A's token with the keys A publishes; the keys of A and B differ."""
        a, b = await _split(make_backend)
        assert a.keys.signing_key().kid != b.keys.signing_key().kid
        assert await a.discovery.get_base_url("pong") == f"{b.base_url}/api/pong"
        status, body = await _call_pong(a, a.plugins["ping"])
        assert (status, body) == (200, {"pong": "plugin:ping"})

    async def test_remote_keys_are_cached_by_key_id(self, make_backend: BackendMaker) -> None:
        """A second call with a token signed by the same key does not fetch the JWKS again."""
        a, b = await _split(make_backend)
        ping = a.plugins["ping"]
        published = AsyncMock(wraps=ping.auth.list_public_service_keys)
        with patch.object(ping.auth, "list_public_service_keys", new=published):
            first = await _call_pong(a, ping)
            second = await _call_pong(a, ping)
        assert first == second == (200, {"pong": "plugin:ping"})
        published.assert_awaited_once()
        assert b.jwks is not a.jwks

    async def test_keys_the_source_does_not_publish_are_refused(
        self, make_backend: BackendMaker
    ) -> None:
        """A token claiming to be from 'ping' but signed elsewhere is refused by B."""
        a, b = await _split(make_backend)
        rogue = PluginTokenHandler(MiniBackend().keys, JwksCache())
        token, _ = rogue.issue(source_plugin_id="ping", target_plugin_id="pong")
        kid = (unverified_header(token) or {})["kid"]
        response = await fetch(b.base_url, "/api/pong/ping", token=token)
        assert response.status_code == 401
        assert response.json()["error"]["message"] == (
            f"Invalid plugin token: key '{kid}' of plugin 'ping' is not published at "
            f"{a.base_url}/api/ping/.backstage/auth/v1/jwks.json"
        )

    async def test_an_unreachable_issuer_is_a_clear_401(self, make_backend: BackendMaker) -> None:
        """When the source's JWKS cannot be fetched, the error names the URL."""
        a, b = await _split(make_backend)
        with socket.socket() as probe:
            probe.bind((LOOPBACK, 0))
            closed_port = probe.getsockname()[1]
        b.config.update(_endpoints(ping=f"http://{LOOPBACK}:{closed_port}"))
        own = await a.plugins["ping"].auth.get_own_service_credentials()
        token = await a.plugins["ping"].auth.get_plugin_request_token(
            on_behalf_of=own, target_plugin_id="pong"
        )
        with pytest.raises(
            AuthenticationError,
            match=(
                rf"Unable to fetch the public keys at http://{LOOPBACK}:{closed_port}"
                r"/api/ping/\.backstage/auth/v1/jwks\.json; caused by ConnectError"
            ),
        ):
            await b.plugins["pong"].auth.authenticate(token.token)


class TestKeyRefetch:
    async def test_a_new_key_of_a_peer_is_found_within_a_second(
        self, make_backend: BackendMaker
    ) -> None:
        """A peer's new key (a restart, a new replica) is fetched once the 1 s bound passed."""
        a, b = await _split(make_backend)
        ping = a.plugins["ping"]
        own = await ping.auth.get_own_service_credentials()
        first = await ping.auth.get_plugin_request_token(on_behalf_of=own, target_plugin_id="pong")
        await b.plugins["pong"].auth.authenticate(first.token)
        a.keys._key_duration = timedelta(0)  # the next token is signed by a brand-new key
        second = await ping.auth.get_plugin_request_token(on_behalf_of=own, target_plugin_id="pong")
        assert unverified_header(second.token) != unverified_header(first.token)
        with pytest.raises(
            AuthenticationError, match="is not among the keys fetched from"
        ) as caught:
            await b.plugins["pong"].auth.authenticate(second.token)
        assert "keys are fetched again in" in str(caught.value)
        await asyncio.sleep(1.05)
        credentials = await b.plugins["pong"].auth.authenticate(second.token)
        assert credentials.principal.type == "service"

    async def test_a_refused_lookup_after_a_failed_fetch_says_the_fetch_failed(
        self, make_backend: BackendMaker
    ) -> None:
        """Right after a failed fetch the 401 says that the fetch failed, not 'not published'."""
        a, b = await _split(make_backend)
        with socket.socket() as probe:
            probe.bind((LOOPBACK, 0))
            closed_port = probe.getsockname()[1]
        b.config.update(_endpoints(ping=f"http://{LOOPBACK}:{closed_port}"))
        own = await a.plugins["ping"].auth.get_own_service_credentials()
        token = await a.plugins["ping"].auth.get_plugin_request_token(
            on_behalf_of=own, target_plugin_id="pong"
        )
        with pytest.raises(AuthenticationError, match="Unable to fetch the public keys"):
            await b.plugins["pong"].auth.authenticate(token.token)
        with pytest.raises(AuthenticationError) as caught:
            await b.plugins["pong"].auth.authenticate(token.token)
        message = str(caught.value)
        assert "could not be fetched" in message
        assert "Unable to fetch the public keys" in message
        assert "the next attempt is allowed in" in message
