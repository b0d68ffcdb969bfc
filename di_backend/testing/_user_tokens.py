"""``UserTokenIssuer``: real user tokens, signed as Backstage's auth backend signs them."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend._core_services import core_services
from di_backend._features import BackendFeature, PluginRegistrationPoints, create_backend_plugin
from di_backend._inject import inject
from di_backend.services import HttpRouterService

__all__ = ["UserTokenIssuer"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json(value: Mapping[str, object]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class UserTokenIssuer:
    """Mints user tokens exactly as Backstage's auth backend does (``issueUserToken``).

    The header is ``{typ: vnd.backstage.user, alg: ES256, kid}``; the claims
    ``iss, sub, ent, aud: backstage, iat, exp, uip``, where ``uip`` is the
    signature of the limited user token ``{typ, alg, kid}.{sub, iat, exp}``.
    :meth:`plugin` serves the public key as plugin ``auth`` (at
    ``/api/auth/.well-known/jwks.json``, with ``/v1/userinfo`` beside it), so the
    real auth service of a test backend verifies these tokens.
    ``tests/interop`` checks the same behaviour against a real Backstage auth backend.

    Attributes:
        kid: the key id in every token's header.
        userinfo_calls: how many ``/v1/userinfo`` requests were answered.

    """

    def __init__(self, *, kid: str = "auth-key-1") -> None:
        """Create an issuer with a new P-256 key."""
        self.kid = kid
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.userinfo_calls = 0

    def _sign(self, header: Mapping[str, object], payload: bytes) -> str:
        from di_backend.http._jose import sign_raw  # the HTTP stack loads only when used

        # The header's fields in the given order, as jose's setProtectedHeader writes them.
        signing_input = f"{_b64url(_json(header))}.{_b64url(payload)}"
        return f"{signing_input}.{_b64url(sign_raw(signing_input.encode(), self._key))}"

    def issue(
        self,
        sub: str = "user:default/jane",
        ent: Sequence[str] | None = None,
        *,
        ttl: timedelta = timedelta(hours=1),
        issued_at: int | None = None,
        omit_ent: bool = False,
    ) -> str:
        """A user token for ``sub`` owning ``ent`` (default ``[sub]``), valid for ``ttl``.

        ``omit_ent=True`` leaves the ``ent`` claim out, as an auth backend configured
        with ``omitIdentityTokenOwnershipClaim`` does.
        """
        iat = int(time.time()) if issued_at is None else issued_at
        exp = iat + int(ttl.total_seconds())
        limited_header = {"typ": "vnd.backstage.limited-user", "alg": "ES256", "kid": self.kid}
        uip = self._sign(limited_header, _json({"sub": sub, "iat": iat, "exp": exp})).split(".")[2]
        claims: dict[str, object] = {"iss": "http://localhost/api/auth", "sub": sub}
        if not omit_ent:
            claims["ent"] = [sub] if ent is None else list(ent)
        claims.update({"aud": "backstage", "iat": iat, "exp": exp, "uip": uip})
        header = {"typ": "vnd.backstage.user", "alg": "ES256", "kid": self.kid}
        return self._sign(header, _json(claims))

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWKS the auth backend serves: this issuer's public key."""
        from di_backend.http._jose import public_jwk

        return {"keys": [public_jwk(self.kid, self._key)]}

    def router(self, ownership: Sequence[str] | None = None) -> Router:
        """``/.well-known/jwks.json`` and ``/v1/userinfo`` (answering ``ownership``)."""
        from di_backend.http._http_auth import bearer_token
        from di_backend.http._jose import unverified_claims

        async def jwks(_: Request) -> JSONResponse:
            return JSONResponse(self.jwks())

        async def userinfo(request: Request) -> JSONResponse:
            self.userinfo_calls += 1
            claims = unverified_claims(bearer_token(request) or "") or {}
            sub = claims.get("sub")
            ent = list(ownership) if ownership is not None else [sub]
            return JSONResponse({"claims": {"sub": sub, "ent": ent}})

        return Router([Route("/.well-known/jwks.json", jwks), Route("/v1/userinfo", userinfo)])

    def plugin(self, ownership: Sequence[str] | None = None) -> BackendFeature:
        """A plugin ``auth`` serving :meth:`router` without credentials."""

        def register(env: PluginRegistrationPoints) -> None:
            async def init(
                http_router: HttpRouterService = inject(core_services.http_router),
            ) -> None:
                http_router.use(self.router(ownership))
                http_router.add_auth_policy(path="/.well-known", allow="unauthenticated")
                http_router.add_auth_policy(path="/v1/userinfo", allow="unauthenticated")

            env.register_init(init)

        return create_backend_plugin(plugin_id="auth", register=register)
