"""Service tokens, external access tokens and request credentials within one backend."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from unittest.mock import AsyncMock, patch

import pytest
from http_support import (
    BackendMaker,
    MiniBackend,
    MiniPlugin,
    b64url,
    fetch,
    make_backend_fixture,  # noqa: F401  # pyright: ignore[reportUnusedImport]
    resign,
)
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend.config import ObservableConfig
from di_backend.errors import ConfigError
from di_backend.http import (
    AuthenticationError,
    BackstageCredentials,
    BackstageServicePrincipal,
    BackstageUserPrincipal,
    DefaultAuthService,
    ExternalTokenHandler,
    JwksCache,
    KeyStore,
    NotAllowedError,
    PluginTokenHandler,
    ServiceAccessRestrictions,
)
from di_backend.http._jose import unverified_claims, unverified_header
from di_backend.services import JsonValue

STATIC: dict[str, JsonValue] = {
    "backend": {
        "auth": {
            "externalAccess": [
                {"type": "static", "options": {"token": "curl-secret-1", "subject": "curl"}},
                {
                    "type": "static",
                    "options": {"token": "catalog-only-1", "subject": "limited"},
                    "accessRestrictions": [{"plugin": "catalog"}],
                },
            ]
        }
    }
}


async def _token(plugin: MiniPlugin, target: str) -> str:
    own = await plugin.auth.get_own_service_credentials()
    token = await plugin.auth.get_plugin_request_token(on_behalf_of=own, target_plugin_id=target)
    return token.token


def _ping_router(plugin: MiniPlugin) -> Router:
    async def ping(request: Request) -> JSONResponse:
        credentials = await plugin.http_auth.credentials(request, allow=["service"])
        return JSONResponse({"pong": credentials.principal.subject})

    async def users_only(request: Request) -> JSONResponse:
        credentials = await plugin.http_auth.credentials(request, allow=["user"])
        return JSONResponse({"user": credentials.principal.user_entity_ref})

    return Router([Route("/ping", ping), Route("/users-only", users_only)])


def _pong(backend: MiniBackend) -> MiniPlugin:
    """Add the plugin 'pong' serving the ping router, which echoes the caller's subject."""
    pong = backend.add_plugin("pong")
    pong.router.use(_ping_router(pong))
    return pong


class TestServiceTokens:
    async def test_own_credentials_name_the_plugin(self, make_backend: BackendMaker) -> None:
        """A plugin's own service credentials have the subject 'plugin:<id>'."""
        backend = await make_backend()
        credentials = await backend.add_plugin("ping").auth.get_own_service_credentials()
        assert credentials.principal == BackstageServicePrincipal(subject="plugin:ping")
        assert credentials.principal.type == "service"

    async def test_tokens_carry_source_target_key_id_and_a_short_expiry(
        self, make_backend: BackendMaker
    ) -> None:
        """A token is Backstage's: ES256 JWS with kid, sub '<source>', aud '<target>', 1 h exp."""
        backend = await make_backend()
        token = await _token(backend.add_plugin("ping"), "pong")
        assert unverified_header(token) == {
            "typ": "vnd.backstage.plugin",
            "kid": backend.keys.signing_key().kid,
            "alg": "ES256",
        }
        claims = unverified_claims(token)
        assert claims is not None
        assert claims["sub"] == "ping"
        assert claims["aud"] == "pong"
        issued, expires = claims["iat"], claims["exp"]
        assert isinstance(issued, int)
        assert isinstance(expires, int)
        assert expires - issued == 3600

    async def test_the_target_authenticates_the_token(self, make_backend: BackendMaker) -> None:
        """The target plugin turns the token into service credentials of the source."""
        backend = await make_backend()
        token = await _token(backend.add_plugin("ping"), "pong")
        credentials = await backend.add_plugin("pong").auth.authenticate(token)
        assert credentials.principal == BackstageServicePrincipal(subject="plugin:ping")
        assert credentials.expires_at is not None
        assert credentials.expires_at > datetime.now(UTC)

    async def test_tokens_for_another_plugin_are_refused(self, make_backend: BackendMaker) -> None:
        """A token whose audience is another plugin is refused, naming both plugins."""
        backend = await make_backend()
        token = await _token(backend.add_plugin("ping"), "pong")
        with pytest.raises(
            AuthenticationError,
            match=re.escape(
                "Invalid plugin token: the token from plugin 'ping' is meant for plugin "
                "'pong', not for plugin 'other'"
            ),
        ):
            await backend.add_plugin("other").auth.authenticate(token)

    async def test_tampered_tokens_are_refused(self, make_backend: BackendMaker) -> None:
        """Changing the claims breaks the signature."""
        backend = await make_backend()
        token = await _token(backend.add_plugin("ping"), "pong")
        header, _, signature = token.split(".")
        forged_claims = b64url(b'{"sub":"admin","aud":"pong","iat":1,"exp":9999999999}')
        with pytest.raises(AuthenticationError, match="does not verify"):
            await backend.add_plugin("pong").auth.authenticate(
                f"{header}.{forged_claims}.{signature}"
            )

    @pytest.mark.parametrize(
        ("exp", "reason"),
        [
            ("Infinity", "the claims are not a JSON object"),
            ("NaN", "the claims are not a JSON object"),
            ("1e400", "has no valid expiry"),
            ("99999999999999999999", "has no valid expiry"),
            ("-1", "has no valid expiry"),
        ],
    )
    async def test_malformed_expiries_are_a_401_not_a_500(
        self, make_backend: BackendMaker, exp: str, reason: str
    ) -> None:
        """An ``exp`` of Infinity, NaN, a huge or a negative number is refused as a bad token."""
        backend = await make_backend()
        token = await _token(backend.add_plugin("ping"), "pong")
        claims = f'{{"sub":"ping","aud":"pong","iat":1,"exp":{exp}}}'.encode()
        forged = resign(token, claims, backend.keys.signing_key().private_key)
        with pytest.raises(AuthenticationError, match=reason):
            await backend.add_plugin("pong").auth.authenticate(forged)

    async def test_expired_tokens_are_refused(self, make_backend: BackendMaker) -> None:
        """A token past its expiry is refused with the expiry time (no leeway)."""
        backend = await make_backend()
        past = datetime(2020, 1, 1, tzinfo=UTC)
        old_issuer = PluginTokenHandler(backend.keys, JwksCache(), clock=lambda: past)
        token, expires_at = old_issuer.issue(source_plugin_id="ping", target_plugin_id="pong")
        with pytest.raises(
            AuthenticationError,
            match=re.escape(f"the token from plugin 'ping' expired at {expires_at.isoformat()}"),
        ):
            await backend.add_plugin("pong").auth.authenticate(token)

    async def test_tokens_signed_with_unknown_keys_are_refused(
        self, make_backend: BackendMaker
    ) -> None:
        """A token signed by a key the source's backend does not publish is refused."""
        backend = await make_backend()
        backend.add_plugin("ping")
        rogue = PluginTokenHandler(KeyStore(), JwksCache())
        token, _ = rogue.issue(source_plugin_id="ping", target_plugin_id="pong")
        kid = (unverified_header(token) or {})["kid"]
        with pytest.raises(
            AuthenticationError,
            match=re.escape(
                f"key '{kid}' of plugin 'ping' is not published at "
                f"{backend.base_url}/api/ping/.backstage/auth/v1/jwks.json"
            ),
        ):
            await backend.add_plugin("pong").auth.authenticate(token)

    async def test_tokens_are_refused_for_nobody(self, make_backend: BackendMaker) -> None:
        """'none' credentials cannot be turned into a service token."""
        backend = await make_backend()
        auth = backend.add_plugin("ping").auth
        with pytest.raises(
            AuthenticationError,
            match=re.escape("Refused to issue service token for credential type 'none'"),
        ):
            await auth.get_plugin_request_token(
                on_behalf_of=await auth.get_none_credentials(), target_plugin_id="pong"
            )

    async def test_nobody_gets_an_empty_token_when_the_policy_is_disabled(
        self, make_backend: BackendMaker
    ) -> None:
        """With dangerouslyDisableDefaultAuthPolicy 'none' credentials forward as ''."""
        backend = await make_backend()
        auth = DefaultAuthService(
            "ping",
            keys=backend.keys,
            plugin_tokens=backend.tokens,
            external_tokens=backend.external,
            discovery=backend.discovery,
            disable_default_auth_policy=True,
        )
        token = await auth.get_plugin_request_token(
            on_behalf_of=await auth.get_none_credentials(), target_plugin_id="pong"
        )
        assert token.token == ""

    async def test_user_credentials_without_a_token_cannot_be_forwarded(
        self, make_backend: BackendMaker
    ) -> None:
        """User credentials with no token behind them cannot become an ``obo`` claim."""
        backend = await make_backend()
        auth = backend.add_plugin("ping").auth
        user = BackstageCredentials(principal=BackstageUserPrincipal("user:default/jane"))
        with pytest.raises(
            AuthenticationError,
            match=re.escape("User credentials is unexpectedly missing token (plugin 'ping'"),
        ):
            await auth.get_plugin_request_token(on_behalf_of=user, target_plugin_id="pong")


class TestRequestCredentials:
    async def test_routes_see_the_calling_plugin(self, make_backend: BackendMaker) -> None:
        """A route reading credentials with allow=['service'] sees 'plugin:<caller>'."""
        backend = await make_backend()
        _pong(backend)
        token = await _token(backend.add_plugin("ping"), "pong")
        response = await fetch(backend.base_url, "/api/pong/ping", token=token)
        assert response.json() == {"pong": "plugin:ping"}

    async def test_disallowed_principals_get_403(self, make_backend: BackendMaker) -> None:
        """A service calling a users-only endpoint gets 403 with Backstage's message."""
        backend = await make_backend()
        _pong(backend)
        token = await _token(backend.add_plugin("ping"), "pong")
        response = await fetch(backend.base_url, "/api/pong/users-only", token=token)
        assert response.status_code == 403
        assert response.json()["error"] == {
            "name": "NotAllowedError",
            "message": "This endpoint does not allow 'service' credentials",
        }

    async def test_open_endpoints_still_demand_credentials_in_the_route(
        self, make_backend: BackendMaker
    ) -> None:
        """Behind an 'unauthenticated' policy, allow=['service'] still answers 401."""
        backend = await make_backend()
        pong = _pong(backend)
        pong.router.add_auth_policy(path="/ping", allow="unauthenticated")
        response = await fetch(backend.base_url, "/api/pong/ping")
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "Missing credentials"

    async def test_a_token_is_verified_once_per_request(self, make_backend: BackendMaker) -> None:
        """The barrier and the route share one verification of the request's token."""
        backend = await make_backend()
        pong = _pong(backend)
        counting = AsyncMock(wraps=pong.auth.authenticate)
        token = await _token(backend.add_plugin("ping"), "pong")
        with patch.object(pong.auth, "authenticate", new=counting):
            response = await fetch(backend.base_url, "/api/pong/ping", token=token)
        assert response.status_code == 200
        counting.assert_awaited_once_with(token, allow_limited_access=False)


class TestExternalAccess:
    async def test_static_tokens_authenticate_as_their_subject(
        self, make_backend: BackendMaker
    ) -> None:
        """A configured static token yields a service principal with its subject."""
        backend = await make_backend(STATIC)
        _pong(backend)
        response = await fetch(backend.base_url, "/api/pong/ping", token="curl-secret-1")
        assert response.json() == {"pong": "curl"}

    async def test_restricted_tokens_only_reach_their_plugins(
        self, make_backend: BackendMaker
    ) -> None:
        """A token restricted to 'catalog' is refused by other plugins with 403."""
        backend = await make_backend(STATIC)
        _pong(backend)
        response = await fetch(backend.base_url, "/api/pong/ping", token="catalog-only-1")
        assert response.status_code == 403
        assert response.json()["error"]["message"] == (
            "This token's access is restricted to plugin(s) 'catalog', not 'pong'"
        )

    async def test_restricted_access_cannot_be_delegated(self, make_backend: BackendMaker) -> None:
        """A plugin acting for a restricted caller cannot mint an unrestricted token."""
        backend = await make_backend(STATIC)
        catalog = backend.add_plugin("catalog")
        caller = await catalog.auth.authenticate("catalog-only-1")
        assert caller.principal == BackstageServicePrincipal(
            subject="limited", access_restrictions=ServiceAccessRestrictions(("catalog",))
        )
        with pytest.raises(
            NotAllowedError,
            match=re.escape("Access to target plugin 'pong' is not included in token's"),
        ):
            await catalog.auth.get_plugin_request_token(
                on_behalf_of=caller, target_plugin_id="pong"
            )
        with pytest.raises(
            NotAllowedError,
            match=re.escape("Access to target plugin 'catalog' is restricted and cannot be"),
        ):
            await catalog.auth.get_plugin_request_token(
                on_behalf_of=caller, target_plugin_id="catalog"
            )

    @pytest.mark.parametrize(
        ("entry", "message"),
        [
            (
                {"type": "magic"},
                "Unknown type 'magic' in backend.auth.externalAccess, expected one of "
                "'static', 'legacy', 'jwks' (at 'backend.auth.externalAccess[0].type')",
            ),
            (
                {"type": "legacy", "options": {"secret": "not base64!", "subject": "s"}},
                "Illegal secret, must be a valid base64 string "
                "(at 'backend.auth.externalAccess[0].options.secret')",
            ),
            (
                {"type": "jwks", "options": {"url": "ftp://example.com/jwks"}},
                "Illegal JWKS URL, must be a set of non-space characters starting with "
                "http:// or https:// (at 'backend.auth.externalAccess[0].options.url')",
            ),
            (
                {"type": "static", "options": {"token": "short", "subject": "s"}},
                "Illegal token, must be at least 8 characters length "
                "(at 'backend.auth.externalAccess[0].options.token')",
            ),
            (
                {"type": "static", "options": {"token": "has space 12", "subject": "s"}},
                "Illegal token, must be a set of non-space characters",
            ),
            (
                {"type": "static", "options": {"token": "long-enough", "subject": "a b"}},
                "Illegal subject, must be a set of non-space characters",
            ),
            (
                {"type": "static", "options": {"token": "long-enough\n", "subject": "s"}},
                "Illegal token, must be a set of non-space characters",
            ),
            (
                {
                    "type": "static",
                    "options": {"token": "long-enough", "subject": "s"},
                    "accessRestrictions": [{"plugin": "catalog", "plugins": ["x"]}],
                },
                "Invalid key 'plugins' in 'accessRestrictions' config, expected one of 'plugin', "
                "'permission', 'permissionAttribute' "
                "(at 'backend.auth.externalAccess[0].accessRestrictions[0]')",
            ),
            (
                {
                    "type": "static",
                    "options": {"token": "long-enough", "subject": "s"},
                    "accessRestrictions": [{"plugin": "catalog"}, {"plugin": "catalog"}],
                },
                "Attempted to declare 'accessRestrictions' twice for plugin 'catalog', which is "
                "not permitted",
            ),
        ],
        ids=[
            "unknown",
            "legacy",
            "jwks",
            "short",
            "spaces",
            "subject",
            "trailing-newline",
            "restriction-key",
            "restriction-twice",
        ],
    )
    def test_bad_entries_are_refused(self, entry: dict[str, JsonValue], message: str) -> None:
        """Malformed externalAccess entries fail with Backstage's message and the key."""
        config = ObservableConfig({"backend": {"auth": {"externalAccess": [entry]}}})
        with pytest.raises(ConfigError, match=re.escape(message)):
            ExternalTokenHandler.from_config(config)

    async def test_static_entries_hide_their_token(self) -> None:
        """The repr of a configured token never shows the secret."""
        handler = ExternalTokenHandler.from_config(ObservableConfig(STATIC))
        entry = await handler.verify("curl-secret-1")
        assert entry is not None
        assert "curl-secret-1" not in repr(entry)
