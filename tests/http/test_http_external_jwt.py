"""External access with JWTs: ``legacy`` (HS256 with a shared secret) and ``jwks`` entries."""

from __future__ import annotations

import base64
import time
import warnings
from collections.abc import Mapping

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from http_support import (
    BackendMaker,
    MiniBackend,
    make_backend_fixture,  # noqa: F401  # pyright: ignore[reportUnusedImport]
)
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend.config import ObservableConfig
from di_backend.http import AuthenticationError, ExternalTokenHandler, NotAllowedError
from di_backend.http._jose import public_jwk
from di_backend.services import JsonValue

SECRET = b"a-legacy-secret-of-32-bytes-long!"
SECRET_B64 = base64.b64encode(SECRET).decode()


def _legacy_token(secret: bytes = SECRET, **claims: object) -> str:
    now = int(time.time())
    body: dict[str, object] = {"sub": "backstage-server", "exp": now + 60, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm="HS256")


def _with(
    config: Mapping[str, JsonValue], backend: MiniBackend | None = None
) -> ExternalTokenHandler:
    # The backend's key cache, closed when the backend stops.
    jwks = None if backend is None else backend.jwks
    return ExternalTokenHandler.from_config(ObservableConfig(dict(config)), jwks_cache=jwks)


def _external(entries: list[JsonValue]) -> dict[str, JsonValue]:
    return {"backend": {"auth": {"externalAccess": entries}}}


LEGACY: list[JsonValue] = [
    {"type": "legacy", "options": {"secret": SECRET_B64, "subject": "legacy-caller"}}
]


class TestLegacy:
    async def test_an_hs256_token_with_the_secret_is_the_subject(self) -> None:
        """A ``sub: backstage-server`` HS256 token signed with the secret gives the subject."""
        entry = await _with(_external(LEGACY)).verify(_legacy_token())
        assert entry is not None
        assert entry.subject == "legacy-caller"
        assert entry.expires_at is not None

    @pytest.mark.parametrize(
        "token",
        [
            _legacy_token(secret=b"another-secret-of-32-bytes-long!!"),
            _legacy_token(sub="someone-else"),
            _legacy_token(aud="catalog"),
            _legacy_token(exp=int(time.time()) - 1),
        ],
        ids=["other-secret", "other-sub", "with-aud", "expired"],
    )
    async def test_other_tokens_are_not_legacy_tokens(self, token: str) -> None:
        """Another secret, subject, an audience or an expired token: not accepted."""
        assert await _with(_external(LEGACY)).verify(token) is None

    async def test_the_old_backend_auth_keys_still_work(self) -> None:
        """``backend.auth.keys`` entries are legacy entries for external:backstage-plugin."""
        config: dict[str, JsonValue] = {"backend": {"auth": {"keys": [{"secret": SECRET_B64}]}}}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            handler = _with(config)
        assert any("backend.auth.keys is deprecated" in str(w.message) for w in caught)
        entry = await handler.verify(_legacy_token())
        assert entry is not None
        assert entry.subject == "external:backstage-plugin"


class _Jwks:
    """An identity provider: a P-256 key served as a JWKS by a plugin of the mini backend."""

    def __init__(self, backend: MiniBackend) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.url = f"{backend.base_url}/api/idp/jwks.json"
        jwk = public_jwk("idp-1", self.key)

        async def jwks(_: Request) -> JSONResponse:
            return JSONResponse({"keys": [jwk]})

        idp = backend.add_plugin("idp")
        idp.router.use(Router([Route("/jwks.json", jwks)]))
        idp.router.add_auth_policy(path="/jwks.json", allow="unauthenticated")

    def token(self, **claims: object) -> str:
        now = int(time.time())
        body: dict[str, object] = {
            "sub": "robot",
            "iss": "https://idp.example.com",
            "aud": "backstage",
            "iat": now,
            "exp": now + 60,
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="ES256", headers={"kid": "idp-1"})


def _jwks_entry(url: str, **options: JsonValue) -> dict[str, JsonValue]:
    return {
        "type": "jwks",
        "options": {
            "url": url,
            "issuer": "https://idp.example.com",
            "audience": "backstage",
            **options,
        },
    }


class TestJwks:
    async def test_a_token_of_the_issuer_is_external_with_the_prefix(
        self, make_backend: BackendMaker
    ) -> None:
        """A token verified by the JWKS gives ``external:<prefix>:<sub>``."""
        backend = await make_backend()
        idp = _Jwks(backend)
        handler = _with(_external([_jwks_entry(idp.url, subjectPrefix="idp")]), backend)
        entry = await handler.verify(idp.token())
        assert entry is not None
        assert entry.subject == "external:idp:robot"
        no_prefix = await _with(_external([_jwks_entry(idp.url)]), backend).verify(idp.token())
        assert no_prefix is not None
        assert no_prefix.subject == "external:robot"

    @pytest.mark.parametrize(
        ("claims", "options"),
        [
            ({"iss": "https://evil.example.com"}, {}),
            ({"aud": "elsewhere"}, {}),
            ({"exp": int(time.time()) - 1}, {}),
            ({}, {"algorithm": "RS256"}),
        ],
        ids=["other-issuer", "other-audience", "expired", "algorithm-not-allowed"],
    )
    async def test_tokens_that_do_not_fit_the_entry_are_refused(
        self,
        make_backend: BackendMaker,
        claims: dict[str, object],
        options: dict[str, JsonValue],
    ) -> None:
        """Another issuer or audience, an expired token, or a key of a disallowed algorithm."""
        backend = await make_backend()
        idp = _Jwks(backend)
        handler = _with(_external([_jwks_entry(idp.url, **options)]), backend)
        assert await handler.verify(idp.token(**claims)) is None

    async def test_restrictions_apply_to_jwks_tokens(self, make_backend: BackendMaker) -> None:
        """A JWKS entry's access restrictions limit its tokens to the listed plugins (403)."""
        backend = await make_backend()
        idp = _Jwks(backend)
        restricted = _jwks_entry(idp.url)
        restricted["accessRestrictions"] = [{"plugin": "catalog"}]
        backend.external = _with(_external([restricted]), backend)
        with pytest.raises(NotAllowedError, match="restricted to plugin\\(s\\) 'catalog'"):
            await backend.add_plugin("pong").auth.authenticate(idp.token())
        catalog = await backend.add_plugin("catalog").auth.authenticate(idp.token())
        assert catalog.principal.subject == "external:robot"

    async def test_an_unreachable_jwks_refuses_the_token(self, make_backend: BackendMaker) -> None:
        """When the JWKS cannot be fetched, the token is refused as Illegal, not a 500."""
        backend = await make_backend()
        idp = _Jwks(backend)
        backend.external = _with(_external([_jwks_entry("http://127.0.0.1:1/jwks.json")]), backend)
        with pytest.raises(AuthenticationError, match="Illegal token"):
            await backend.add_plugin("pong").auth.authenticate(idp.token())
