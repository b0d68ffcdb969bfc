"""User tokens issued by Backstage's auth backend, verified against the JWKS it serves.

Three kinds, told apart as Backstage does: ``typ: vnd.backstage.user`` (a full
user token), ``typ: vnd.backstage.limited-user`` (the limited token that
travels in a plugin token's ``obo`` claim or a cookie) and, for old tokens
without ``typ``, ``aud: backstage``. The keys are fetched from
``<base url of plugin 'auth'>/.well-known/jwks.json``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from di_backend.http._errors import AuthenticationError
from di_backend.http._jose import (
    TokenRejectedError,
    expiry,
    unverified_claims,
    unverified_header,
    verify_token,
)
from di_backend.http._jwks_client import JwksCache
from di_backend.services._http import DiscoveryService

__all__ = [
    "LIMITED_USER_TOKEN_TYPE",
    "USER_TOKEN_TYPE",
    "UserTokenHandler",
    "VerifiedUserToken",
    "create_limited_user_token",
]

USER_TOKEN_TYPE = "vnd.backstage.user"
"""The ``typ`` header of a full user token."""

LIMITED_USER_TOKEN_TYPE = "vnd.backstage.limited-user"
"""The ``typ`` header of a limited user token."""

_USER_AUDIENCE = "backstage"
AUTH_JWKS_PATH = "/.well-known/jwks.json"
"""Where, under plugin ``auth``'s base URL, Backstage's auth backend serves its keys."""


@dataclass(frozen=True, slots=True)
class VerifiedUserToken:
    """What a valid user token says.

    Attributes:
        user_entity_ref: the ``sub`` claim, e.g. ``user:development/guest``.
        expires_at: when the token expires.
        limited: whether it is a limited user token.

    """

    user_entity_ref: str
    expires_at: datetime
    limited: bool


def _b64_json(value: dict[str, object]) -> str:
    # JSON.stringify's output: no spaces, non-ASCII characters as they are.
    raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def create_limited_user_token(token: str) -> tuple[str, datetime]:
    """Return the limited user token of a user token and its expiry, as Backstage builds it.

    The limited token is ``{typ, alg, kid}.{sub, iat, exp}.<uip>``: the auth
    backend signed exactly that when it issued the user token and put the
    signature in the ``uip`` claim. Limited tokens and old tokens without
    ``typ`` are returned as they are.

    Raises:
        AuthenticationError: the token is of another type or has no ``uip``.

    """
    header = unverified_header(token)
    claims = unverified_claims(token)
    if header is None or claims is None:
        msg = "Failed to create limited user token, the user token is not a JSON Web Token"
        raise AuthenticationError(msg)
    expires_at = expiry(claims)
    if expires_at is None:
        msg = "Failed to create limited user token, the user token has no valid expiry ('exp')"
        raise AuthenticationError(msg)
    typ = header.get("typ")
    if not typ or typ == LIMITED_USER_TOKEN_TYPE:
        return token, expires_at
    if typ != USER_TOKEN_TYPE:
        msg = f"Failed to create limited user token, invalid token type {typ!r}"
        raise AuthenticationError(msg)
    uip = claims.get("uip")
    if not isinstance(uip, str) or not uip:
        msg = "Failed to create limited user token, missing user identity proof"
        raise AuthenticationError(msg)
    # As JSON.stringify writes them: in this order, a field that is absent left out.
    limited_header: dict[str, object] = {"typ": LIMITED_USER_TOKEN_TYPE}
    limited_header.update({name: header[name] for name in ("alg", "kid") if name in header})
    limited_claims: dict[str, object] = {
        name: claims[name] for name in ("sub", "iat", "exp") if name in claims
    }
    return f"{_b64_json(limited_header)}.{_b64_json(limited_claims)}.{uip}", expires_at


def token_kind(token: str) -> str | None:
    """``"user"``, ``"limited"`` or ``None`` when ``token`` is not a user token."""
    header = unverified_header(token)
    if header is None:
        return None
    typ = header.get("typ")
    if typ == USER_TOKEN_TYPE:
        return "user"
    if typ == LIMITED_USER_TOKEN_TYPE:
        return "limited"
    if typ is None:
        claims = unverified_claims(token)
        if claims is not None and claims.get("aud") == _USER_AUDIENCE:
            return "legacy"
    return None


class UserTokenHandler:
    """Verify user tokens against the JWKS of the auth backend, found through discovery."""

    def __init__(self, jwks: JwksCache) -> None:
        """Fetch the auth backend's keys into ``jwks``."""
        self._jwks = jwks

    async def verify(self, token: str, *, discovery: DiscoveryService) -> VerifiedUserToken | None:
        """Verify ``token``; ``None`` when it is not a user token at all.

        Raises:
            AuthenticationError: ``Failed user token verification: <reason>``, naming
                the JWKS URL of the issuer.

        """
        kind = token_kind(token)
        if kind is None:
            return None
        header = unverified_header(token) or {}
        url = f"{await discovery.get_base_url('auth')}{AUTH_JWKS_PATH}"
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _fail("the header has no key id ('kid')", url)
        key = await self._jwks.get_key(url, kid)
        if key is None:
            reason = self._jwks.miss_reason(url) or f"key '{kid}' is not published at {url}"
            raise _fail(reason, url)
        try:
            claims = verify_token(
                token,
                key,
                audience=_USER_AUDIENCE if kind == "legacy" else None,
                required=("exp",) if kind == "legacy" else ("iat", "exp", "sub"),
            )
        except TokenRejectedError as error:
            raise _fail(str(error), url) from error
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            msg = f"No user sub found in token (issued by the keys at {url})"
            raise AuthenticationError(msg)
        expires_at = expiry(claims)
        assert expires_at is not None  # verify_token checked it
        return VerifiedUserToken(
            user_entity_ref=sub, expires_at=expires_at, limited=kind == "limited"
        )


def _fail(reason: str, url: str) -> AuthenticationError:
    return AuthenticationError(f"Failed user token verification: {reason} (issuer keys at {url})")
