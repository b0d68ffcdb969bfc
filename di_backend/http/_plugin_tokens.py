"""Issue and verify plugin-to-plugin service tokens in Backstage's format.

Header ``{"typ": "vnd.backstage.plugin", "alg": "ES256", "kid": ...}``; claims
``sub`` (the bare source plugin id), ``aud`` (the target plugin id), ``iat``,
``exp`` and, for a call on behalf of a user, ``obo`` (a limited user token).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from di_backend.http._discovery import HostDiscovery
from di_backend.http._errors import AuthenticationError
from di_backend.http._jose import (
    TokenRejectedError,
    VerificationKey,
    expiry,
    key_from_jwk,
    sign_token,
    unverified_claims,
    unverified_header,
    verify_token,
)
from di_backend.http._jwks_client import JwksCache
from di_backend.http._keys import KeyStore
from di_backend.http._plugin_router import JWKS_PATH
from di_backend.services._http import DiscoveryService

__all__ = ["PLUGIN_TOKEN_TYPE", "PluginTokenHandler", "VerifiedPluginToken"]

PLUGIN_TOKEN_TYPE = "vnd.backstage.plugin"
"""The ``typ`` header that marks a plugin-to-plugin token."""

# Backstage's ALLOWED_PLUGIN_ID_PATTERN /^[a-z0-9_-]+$/i, ASCII only, used with fullmatch.
_SUBJECT = re.compile(r"[A-Za-z0-9_-]+")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class VerifiedPluginToken:
    """What a valid plugin token says.

    Attributes:
        subject: ``plugin:<source plugin id>``.
        expires_at: when the token expires.
        on_behalf_of: the limited user token of the ``obo`` claim, not verified yet.

    """

    subject: str
    expires_at: datetime
    on_behalf_of: str | None = None


def _fail(reason: str) -> AuthenticationError:
    return AuthenticationError(f"Invalid plugin token: {reason}")


class PluginTokenHandler:
    """Sign tokens with this backend's keys; verify tokens from this or another backend.

    The receiver finds the public key in its own key store or, for another
    backend (a di_backend or a TypeScript Backstage one), in the JWKS published
    at ``<base url of the source>/.backstage/auth/v1/jwks.json``. Expiry is
    checked with no clock leeway, as Backstage does.
    """

    def __init__(
        self,
        keys: KeyStore,
        jwks: JwksCache,
        *,
        token_ttl: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = _now,
        installed: Callable[[], Awaitable[Collection[str]]] | None = None,
    ) -> None:
        """Create a handler signing with ``keys`` and fetching remote keys into ``jwks``.

        ``installed`` returns the ids of the plugins installed in this backend: with
        :class:`HostDiscovery`, keys of a plugin that is neither installed here nor
        covered by a ``discovery.endpoints`` entry are never fetched.
        """
        self._installed = installed
        self._keys = keys
        self._jwks = jwks
        self._token_ttl = token_ttl
        self._clock = clock
        # Tokens already issued, reused until half their lifetime has passed (and
        # while their key still signs), so callers and receivers see the same token
        # and the receiver's verification cache applies.
        self._issued: dict[tuple[str, str], tuple[str, datetime, datetime, str]] = {}

    def issue(
        self,
        *,
        source_plugin_id: str,
        target_plugin_id: str,
        on_behalf_of: tuple[str, datetime] | None = None,
    ) -> tuple[str, datetime]:
        """Return a token from ``source_plugin_id`` for ``target_plugin_id`` and its expiry.

        ``on_behalf_of`` is a limited user token and its expiry: it goes into the
        ``obo`` claim, and the token expires no later than it.
        """
        key = self._keys.signing_key()
        issued_at = self._clock()
        cache_key = (source_plugin_id, target_plugin_id)
        cached = self._issued.get(cache_key) if on_behalf_of is None else None
        if cached is not None:
            token, expires_at, renew_at, kid = cached
            if issued_at < renew_at and kid == key.kid:
                return token, expires_at
        expires_at = issued_at + self._token_ttl
        claims: dict[str, object] = {
            "sub": source_plugin_id,
            "aud": target_plugin_id,
            "iat": int(issued_at.timestamp()),
        }
        if on_behalf_of is not None:
            expires_at = min(expires_at, on_behalf_of[1])
            claims["obo"] = on_behalf_of[0]
        claims["exp"] = int(expires_at.timestamp())
        token = sign_token(claims, typ=PLUGIN_TOKEN_TYPE, kid=key.kid, key=key.private_key)
        if on_behalf_of is None:
            renew_at = issued_at + self._token_ttl / 2
            self._issued[cache_key] = (token, expires_at, renew_at, key.kid)
        return token, expires_at

    @property
    def jwks(self) -> JwksCache:
        """The cache of remote public keys this handler fetches into."""
        return self._jwks

    @staticmethod
    def is_plugin_token(token: str) -> bool:
        """Return whether ``token`` claims to be a plugin token (by its ``typ`` header)."""
        header = unverified_header(token)
        return header is not None and header.get("typ") == PLUGIN_TOKEN_TYPE

    async def _key(self, kid: str, source: str, discovery: DiscoveryService) -> VerificationKey:
        own = self._keys.public_jwk(kid)
        key = None if own is None else key_from_jwk(dict(own))
        if key is not None:
            return key
        if not await self._may_fetch(source, discovery):
            raise _fail(
                f"plugin '{source}' is not installed in this backend and no "
                "discovery.endpoints entry covers it, so its keys are not fetched"
            )
        url = f"{await discovery.get_base_url(source)}{JWKS_PATH}"
        key = await self._jwks.get_key(url, kid)
        if key is None:
            reason = self._jwks.miss_reason(url)
            if reason is not None:
                raise _fail(f"plugin '{source}': {reason}")
            raise _fail(f"key '{kid}' of plugin '{source}' is not published at {url}")
        return key

    async def _may_fetch(self, source: str, discovery: DiscoveryService) -> bool:
        """Whether the keys of plugin ``source`` may be fetched: it lives somewhere known.

        Only :class:`HostDiscovery` says where plugins live; another discovery
        service is trusted with every id (the fetch rate is bounded anyway).
        """
        if not isinstance(discovery, HostDiscovery) or self._installed is None:
            return True
        return discovery.has_endpoint(source) or source in await self._installed()

    async def verify(
        self, token: str, *, own_plugin_id: str, discovery: DiscoveryService
    ) -> VerifiedPluginToken:
        """Verify a plugin token sent to ``own_plugin_id``.

        Raises:
            AuthenticationError: ``Invalid plugin token: <reason>``; the reason names
                the plugins, the key id or the URL involved.

        """
        header = unverified_header(token) or {}
        claims = unverified_claims(token)
        if claims is None:
            raise _fail("the claims are not a JSON object")
        kid = header.get("kid")
        sub = claims.get("sub")
        aud = claims.get("aud")
        if not sub:
            raise _fail("missing subject")
        if not isinstance(sub, str) or not _SUBJECT.fullmatch(sub):
            raise _fail(
                f"forbidden subject format: {sub!r} is not a plugin id (letters, digits, "
                "'-' and '_')"
            )
        if not isinstance(kid, str) or not kid:
            raise _fail(f"the token from plugin '{sub}' has no key id ('kid') in its header")
        if aud != own_plugin_id:
            raise _fail(
                f"the token from plugin '{sub}' is meant for plugin {aud!r}, "
                f"not for plugin '{own_plugin_id}'"
            )
        expires_at = expiry(claims)
        if expires_at is None:
            raise _fail(f"the token from plugin '{sub}' has no valid expiry ('exp')")
        if self._clock() >= expires_at:
            raise _fail(f"the token from plugin '{sub}' expired at {expires_at.isoformat()}")
        key = await self._key(kid, sub, discovery)
        try:
            verified = verify_token(
                token, key, audience=own_plugin_id, required=("iat", "exp", "sub", "aud")
            )
        except TokenRejectedError as error:
            raise _fail(f"the token from plugin '{sub}' does not verify: {error}") from error
        obo = verified.get("obo")
        if obo is not None and (not isinstance(obo, str) or not obo):
            raise _fail(f"the 'obo' claim of the token from plugin '{sub}' is not a token")
        return VerifiedPluginToken(subject=f"plugin:{sub}", expires_at=expires_at, on_behalf_of=obo)
