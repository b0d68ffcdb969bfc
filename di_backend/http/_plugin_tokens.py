"""Issue and verify plugin-to-plugin service tokens (Ed25519 JWS)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from di_backend._ids import ID_PATTERN
from di_backend.http._errors import AuthenticationError
from di_backend.http._jwks_client import JwksCache
from di_backend.http._jws import ParsedJws, sign_compact, verify_signature
from di_backend.http._keys import KeyStore
from di_backend.http._plugin_router import JWKS_PATH
from di_backend.services._http import DiscoveryService

__all__ = ["PLUGIN_TOKEN_TYPE", "PluginTokenHandler", "VerifiedPluginToken"]

PLUGIN_TOKEN_TYPE = "vnd.backstage.plugin"
"""The ``typ`` header that marks a plugin-to-plugin token."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class VerifiedPluginToken:
    """What a valid plugin token says.

    Attributes:
        subject: ``plugin:<source plugin id>``.
        expires_at: when the token expires.

    """

    subject: str
    expires_at: datetime


_MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, the last second datetime can hold


def _fail(reason: str) -> AuthenticationError:
    return AuthenticationError(f"Invalid plugin token: {reason}")


class PluginTokenHandler:
    """Sign tokens with this backend's keys; verify tokens from this or another backend.

    A token's header carries ``typ``, ``alg`` and ``kid``; its claims ``sub``
    (``plugin:<source>``), ``aud`` (the target plugin id), ``iat`` and ``exp``.
    The receiver finds the public key in its own key store or, for another
    backend, in the JWKS published at ``<base url of the source>/.backstage/auth/v1/jwks.json``.
    """

    def __init__(
        self,
        keys: KeyStore,
        jwks: JwksCache,
        *,
        token_ttl: timedelta = timedelta(hours=1),
        leeway: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """Create a handler signing with ``keys`` and fetching remote keys into ``jwks``."""
        self._keys = keys
        self._jwks = jwks
        self._token_ttl = token_ttl
        self._leeway = leeway
        self._clock = clock
        # Tokens already issued, reused until half their lifetime has passed (and
        # while their key still signs), so callers and receivers see the same token
        # and the receiver's verification cache applies.
        self._issued: dict[tuple[str, str], tuple[str, datetime, datetime, str]] = {}

    def issue(self, *, source_plugin_id: str, target_plugin_id: str) -> tuple[str, datetime]:
        """Return a token from ``source_plugin_id`` for ``target_plugin_id`` and its expiry."""
        key = self._keys.signing_key()
        issued_at = self._clock()
        cached = self._issued.get((source_plugin_id, target_plugin_id))
        if cached is not None:
            token, expires_at, renew_at, kid = cached
            if issued_at < renew_at and kid == key.kid:
                return token, expires_at
        expires_at = issued_at + self._token_ttl
        token = sign_compact(
            {"typ": PLUGIN_TOKEN_TYPE, "kid": key.kid},
            {
                "sub": f"plugin:{source_plugin_id}",
                "aud": target_plugin_id,
                "iat": int(issued_at.timestamp()),
                "exp": int(expires_at.timestamp()),
            },
            key.private_key,
        )
        renew_at = issued_at + self._token_ttl / 2
        self._issued[(source_plugin_id, target_plugin_id)] = (token, expires_at, renew_at, key.kid)
        return token, expires_at

    @staticmethod
    def is_plugin_token(parsed: ParsedJws) -> bool:
        """Return whether ``parsed`` claims to be a plugin token (by its ``typ``)."""
        return parsed.header.get("typ") == PLUGIN_TOKEN_TYPE

    async def verify(
        self, parsed: ParsedJws, *, own_plugin_id: str, discovery: DiscoveryService
    ) -> VerifiedPluginToken:
        """Verify a plugin token sent to ``own_plugin_id``.

        Raises:
            AuthenticationError: ``Invalid plugin token: <reason>``; the reason names
                the plugins, the key id or the URL involved.

        """
        kid = parsed.header.get("kid")
        sub = parsed.payload.get("sub")
        aud = parsed.payload.get("aud")
        exp = parsed.payload.get("exp")
        if not isinstance(kid, str) or not kid:
            raise _fail("the header has no key id ('kid')")
        if not isinstance(sub, str) or not sub.startswith("plugin:"):
            raise _fail(f"the subject {sub!r} is not of the form 'plugin:<plugin id>'")
        source = sub.removeprefix("plugin:")
        if not ID_PATTERN.match(source.replace("_", "-")):
            raise _fail(f"the subject {sub!r} does not name a valid plugin id")
        if aud != own_plugin_id:
            raise _fail(
                f"the token from plugin '{source}' is meant for plugin {aud!r}, "
                f"not for plugin '{own_plugin_id}'"
            )
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise _fail(f"the token from plugin '{source}' has no expiry ('exp')")
        if not math.isfinite(exp) or not 0 <= exp <= _MAX_EPOCH:
            raise _fail(f"the token from plugin '{source}' has an invalid expiry ('exp')")
        expires_at = datetime.fromtimestamp(exp, UTC)
        if self._clock() >= expires_at + self._leeway:
            raise _fail(f"the token from plugin '{source}' expired at {expires_at.isoformat()}")
        public_key = self._keys.public_key(kid)
        if public_key is None:
            url = f"{await discovery.get_base_url(source)}{JWKS_PATH}"
            public_key = await self._jwks.get_key(url, kid)
            if public_key is None:
                reason = self._jwks.miss_reason(url)
                if reason is not None:
                    raise _fail(f"plugin '{source}': {reason}")
                raise _fail(f"key '{kid}' of plugin '{source}' is not published at {url}")
        if not verify_signature(parsed, public_key):
            raise _fail(f"the signature of the token from plugin '{source}' does not verify")
        return VerifiedPluginToken(subject=sub, expires_at=expires_at)
