"""User tokens of the auth backend, calls on behalf of a user (``obo``) and ``core.userInfo``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from http_support import (
    BackendMaker,
    MiniBackend,
    b64url,
    fetch,
    make_backend_fixture,  # noqa: F401  # pyright: ignore[reportUnusedImport]
    serve_auth,
)
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend.http import AuthenticationError, BackstageCredentials, BackstageUserPrincipal
from di_backend.http._jose import unverified_claims, unverified_header
from di_backend.http._user_info import DefaultUserInfoService
from di_backend.http._user_tokens import create_limited_user_token
from di_backend.services import BackstageUserInfo
from di_backend.testing import UserTokenIssuer

JANE = "user:default/jane"


async def _with_issuer(make_backend: BackendMaker) -> tuple[MiniBackend, UserTokenIssuer]:
    backend = await make_backend()
    issuer = UserTokenIssuer()
    serve_auth(backend, issuer, [JANE, "group:default/team-a"])
    return backend, issuer


class TestUserTokens:
    async def test_a_user_token_authenticates_as_the_user(self, make_backend: BackendMaker) -> None:
        """A token from the auth backend gives user credentials with the user's entity ref."""
        backend, issuer = await _with_issuer(make_backend)
        token = issuer.issue(JANE)
        credentials = await backend.add_plugin("todo").auth.authenticate(token)
        assert credentials.principal == BackstageUserPrincipal(user_entity_ref=JANE)
        assert credentials.token == token
        assert credentials.expires_at is not None
        assert credentials.expires_at > datetime.now(UTC)

    async def test_a_token_signed_by_another_key_is_refused(
        self, make_backend: BackendMaker
    ) -> None:
        """A user token whose key the auth backend does not publish is a 401 naming the JWKS URL."""
        backend, _ = await _with_issuer(make_backend)
        rogue = UserTokenIssuer(kid="rogue")
        with pytest.raises(
            AuthenticationError,
            match=re.escape(
                f"Failed user token verification: key 'rogue' is not published at "
                f"{backend.base_url}/api/auth/.well-known/jwks.json"
            ),
        ):
            await backend.add_plugin("todo").auth.authenticate(rogue.issue(JANE))

    async def test_a_token_re_signed_with_the_same_kid_is_refused(
        self, make_backend: BackendMaker
    ) -> None:
        """A forger who reuses the published key id still fails the signature check."""
        backend, _ = await _with_issuer(make_backend)
        forger = UserTokenIssuer()  # same default kid, another key
        with pytest.raises(AuthenticationError, match="the signature does not verify"):
            await backend.add_plugin("todo").auth.authenticate(forger.issue("user:default/admin"))

    async def test_an_expired_user_token_is_refused(self, make_backend: BackendMaker) -> None:
        """A user token past its expiry is refused, with no leeway."""
        backend, issuer = await _with_issuer(make_backend)
        old = issuer.issue(JANE, issued_at=int(datetime.now(UTC).timestamp()) - 3601)
        with pytest.raises(
            AuthenticationError, match="Failed user token verification: the token expired"
        ):
            await backend.add_plugin("todo").auth.authenticate(old)

    async def test_a_limited_token_needs_limited_access(self, make_backend: BackendMaker) -> None:
        """A limited user token is refused unless the caller allows limited access (cookies)."""
        backend, issuer = await _with_issuer(make_backend)
        limited, _ = create_limited_user_token(issuer.issue(JANE))
        auth = backend.add_plugin("todo").auth
        with pytest.raises(AuthenticationError, match="Illegal limited user token"):
            await auth.authenticate(limited)
        credentials = await auth.authenticate(limited, allow_limited_access=True)
        assert credentials.principal == BackstageUserPrincipal(user_entity_ref=JANE)


class TestOnBehalfOf:
    async def test_the_target_sees_the_user_not_the_calling_plugin(
        self, make_backend: BackendMaker
    ) -> None:
        """A plugin token made on behalf of a user authenticates as that user at the target."""
        backend, issuer = await _with_issuer(make_backend)
        ping, pong = backend.add_plugin("ping").auth, backend.add_plugin("pong").auth
        user = await ping.authenticate(issuer.issue(JANE))
        request = await ping.get_plugin_request_token(on_behalf_of=user, target_plugin_id="pong")
        claims = unverified_claims(request.token)
        assert claims is not None
        assert claims["sub"] == "ping"
        assert unverified_header(str(claims["obo"])) == {
            "typ": "vnd.backstage.limited-user",
            "alg": "ES256",
            "kid": issuer.kid,
        }
        received = await pong.authenticate(request.token)
        assert received.principal == BackstageUserPrincipal(user_entity_ref=JANE)
        assert received.token == claims["obo"]

    async def test_the_token_expires_with_the_user_token(self, make_backend: BackendMaker) -> None:
        """An ``obo`` token never outlives the user token it stands for."""
        backend, issuer = await _with_issuer(make_backend)
        ping = backend.add_plugin("ping").auth
        user = await ping.authenticate(issuer.issue(JANE, ttl=timedelta(minutes=5)))
        request = await ping.get_plugin_request_token(on_behalf_of=user, target_plugin_id="pong")
        claims = unverified_claims(request.token)
        assert claims is not None
        assert isinstance(claims["exp"], int)
        assert isinstance(claims["iat"], int)
        assert claims["exp"] - claims["iat"] <= 300

    async def test_an_obo_claim_that_does_not_verify_is_refused(
        self, make_backend: BackendMaker
    ) -> None:
        """A genuine plugin token carrying a forged limited user token is a 401, not the plugin."""
        backend, _ = await _with_issuer(make_backend)
        forged_user = UserTokenIssuer().issue("user:default/admin")  # another key, same kid
        limited, expires = create_limited_user_token(forged_user)
        token, _ = backend.tokens.issue(
            source_plugin_id="ping", target_plugin_id="pong", on_behalf_of=(limited, expires)
        )
        with pytest.raises(
            AuthenticationError,
            match=re.escape("Invalid user token in plugin token obo claim (from 'plugin:ping')"),
        ):
            await backend.add_plugin("pong").auth.authenticate(token)

    async def test_an_obo_claim_that_is_no_user_token_is_refused(
        self, make_backend: BackendMaker
    ) -> None:
        """An ``obo`` that is not a user token at all is refused, never read as the plugin."""
        backend, _ = await _with_issuer(make_backend)
        not_a_user = f"{b64url(b'{}')}.{b64url(b'{}')}.{b64url(b'x')}"
        token, _ = backend.tokens.issue(
            source_plugin_id="ping",
            target_plugin_id="pong",
            on_behalf_of=(not_a_user, datetime.now(UTC) + timedelta(minutes=5)),
        )
        with pytest.raises(AuthenticationError, match="it is not a user token"):
            await backend.add_plugin("pong").auth.authenticate(token)

    async def test_a_route_allowing_users_sees_the_user(self, make_backend: BackendMaker) -> None:
        """Over HTTP, a route with allow=['user'] called with an ``obo`` token sees the user."""
        backend, issuer = await _with_issuer(make_backend)
        pong = backend.add_plugin("pong")

        async def whoami(request: Request) -> JSONResponse:
            credentials = await pong.http_auth.credentials(request, allow=["user"])
            return JSONResponse({"subject": credentials.principal.subject})

        pong.router.use(Router([Route("/whoami", whoami)]))
        ping = backend.add_plugin("ping").auth
        user = await ping.authenticate(issuer.issue(JANE))
        request = await ping.get_plugin_request_token(on_behalf_of=user, target_plugin_id="pong")
        response = await fetch(backend.base_url, "/api/pong/whoami", token=request.token)
        assert response.status_code == 200
        assert response.json() == {"subject": JANE}


class TestUserInfo:
    async def test_ownership_comes_from_the_token(self, make_backend: BackendMaker) -> None:
        """The ``ent`` claim of a full user token is the ownership, with no request made."""
        backend, issuer = await _with_issuer(make_backend)
        credentials = await backend.add_plugin("todo").auth.authenticate(
            issuer.issue(JANE, [JANE, "group:default/a"])
        )
        info = await DefaultUserInfoService(backend.discovery).get_user_info(credentials)
        assert info == BackstageUserInfo(JANE, (JANE, "group:default/a"))
        assert issuer.userinfo_calls == 0

    async def test_a_limited_token_asks_the_auth_backend(self, make_backend: BackendMaker) -> None:
        """Credentials from an ``obo`` call (no ``ent``) get ownership from ``/v1/userinfo``."""
        backend, issuer = await _with_issuer(make_backend)
        ping, pong = backend.add_plugin("ping").auth, backend.add_plugin("pong").auth
        user = await ping.authenticate(issuer.issue(JANE))
        request = await ping.get_plugin_request_token(on_behalf_of=user, target_plugin_id="pong")
        received = await pong.authenticate(request.token)
        info = await DefaultUserInfoService(backend.discovery).get_user_info(received)
        assert info == BackstageUserInfo(JANE, (JANE, "group:default/team-a"))
        assert issuer.userinfo_calls == 1

    async def test_only_user_credentials_have_user_info(self, make_backend: BackendMaker) -> None:
        """Service credentials are refused with Backstage's message."""
        backend = await make_backend()
        own = await backend.add_plugin("todo").auth.get_own_service_credentials()
        with pytest.raises(ValueError, match="Only user credentials are supported"):
            await DefaultUserInfoService(backend.discovery).get_user_info(own)

    async def test_user_credentials_need_a_token(self, make_backend: BackendMaker) -> None:
        """User credentials made without a token cannot be looked up."""
        backend = await make_backend()
        bare = BackstageCredentials(principal=BackstageUserPrincipal(JANE))
        with pytest.raises(ValueError, match="User credentials is unexpectedly missing token"):
            await DefaultUserInfoService(backend.discovery).get_user_info(bare)
