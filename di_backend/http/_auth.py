"""The default auth service of one plugin: verify tokens, issue service tokens."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime

from di_backend.http._db_keys import DatabaseKeyPublisher
from di_backend.http._errors import AuthenticationError, NotAllowedError
from di_backend.http._external_access import ExternalTokenHandler
from di_backend.http._jws import JwsFormatError, parse_compact, public_jwk
from di_backend.http._keys import KeyStore
from di_backend.http._plugin_tokens import PluginTokenHandler
from di_backend.services._credentials import (
    BackstageCredentials,
    BackstageNonePrincipal,
    BackstagePrincipal,
    BackstageServicePrincipal,
    PluginRequestToken,
    PrincipalType,
)
from di_backend.services._http import DiscoveryService

__all__ = ["DefaultAuthService"]

_VERIFIED_CACHE_SIZE = 1024
"""How many verified plugin tokens one plugin's auth service remembers."""


def _quoted(ids: tuple[str, ...]) -> str:
    return ", ".join(f"'{plugin_id}'" for plugin_id in ids)


class DefaultAuthService:
    """Backstage's default ``AuthService`` for one plugin.

    Tokens are checked in order: plugin service tokens (this backend's or another
    backend's, by their ``typ`` header), then the static external access tokens.
    Service tokens this plugin issues name it as ``plugin:<plugin_id>``.
    """

    def __init__(
        self,
        plugin_id: str,
        *,
        keys: KeyStore,
        plugin_tokens: PluginTokenHandler,
        external_tokens: ExternalTokenHandler,
        discovery: DiscoveryService,
        disable_default_auth_policy: bool = False,
        key_publisher: DatabaseKeyPublisher | None = None,
    ) -> None:
        """Create the auth service of ``plugin_id`` over the backend's shared key material."""
        self._plugin_id = plugin_id
        self._keys = keys
        self._plugin_tokens = plugin_tokens
        self._external_tokens = external_tokens
        self._discovery = discovery
        self._disable_default_auth_policy = disable_default_auth_policy
        self._key_publisher = key_publisher
        # Verified plugin tokens by their exact text (a hit cannot be forged: the key
        # is the whole signed string); only successes, re-checked for expiry on a hit.
        self._verified: OrderedDict[str, BackstageCredentials[BackstagePrincipal]] = OrderedDict()

    async def authenticate(
        self, token: str, *, allow_limited_access: bool = False
    ) -> BackstageCredentials[BackstagePrincipal]:
        """Verify ``token``; see :meth:`AuthService.authenticate`."""
        if not token:
            msg = "Illegal token: the token is empty"
            raise AuthenticationError(msg)
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at is not None and datetime.now(UTC) < cached.expires_at:
                self._verified.move_to_end(token)
                return cached
            del self._verified[token]
        try:
            parsed = parse_compact(token)
        except JwsFormatError:
            parsed = None
        if parsed is not None and self._plugin_tokens.is_plugin_token(parsed):
            verified = await self._plugin_tokens.verify(
                parsed, own_plugin_id=self._plugin_id, discovery=self._discovery
            )
            credentials: BackstageCredentials[BackstagePrincipal] = BackstageCredentials(
                principal=BackstageServicePrincipal(subject=verified.subject),
                expires_at=verified.expires_at,
                token=token,
            )
            self._verified[token] = credentials
            if len(self._verified) > _VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
            return credentials
        entry = self._external_tokens.verify(token)
        if entry is not None:
            restrictions = entry.access_restrictions
            if restrictions is not None and self._plugin_id not in restrictions.plugin_ids:
                msg = (
                    f"This token's access is restricted to plugin(s) "
                    f"{_quoted(restrictions.plugin_ids)}, not '{self._plugin_id}'"
                )
                raise NotAllowedError(msg)
            return BackstageCredentials(
                principal=BackstageServicePrincipal(
                    subject=entry.subject, access_restrictions=restrictions
                ),
                token=token,
            )
        msg = (
            f"Illegal token; plugin '{self._plugin_id}' accepts plugin service tokens "
            "and the tokens in backend.auth.externalAccess"
        )
        raise AuthenticationError(msg)

    def is_principal(
        self, credentials: BackstageCredentials[BackstagePrincipal], type: PrincipalType
    ) -> bool:
        """Return whether ``credentials`` belong to a principal of ``type``."""
        return credentials.principal.type == type

    async def get_none_credentials(self) -> BackstageCredentials[BackstageNonePrincipal]:
        """Return credentials for nobody."""
        return BackstageCredentials(principal=BackstageNonePrincipal())

    async def get_own_service_credentials(
        self,
    ) -> BackstageCredentials[BackstageServicePrincipal]:
        """Return this plugin's credentials (subject ``plugin:<plugin_id>``)."""
        return BackstageCredentials(
            principal=BackstageServicePrincipal(subject=f"plugin:{self._plugin_id}")
        )

    async def get_plugin_request_token(
        self,
        *,
        on_behalf_of: BackstageCredentials[BackstagePrincipal],
        target_plugin_id: str,
    ) -> PluginRequestToken:
        """Issue a service token for ``target_plugin_id``; see :class:`AuthService`."""
        principal = on_behalf_of.principal
        if principal.type == "none" and self._disable_default_auth_policy:
            return PluginRequestToken(token="")
        if principal.type != "service":
            msg = (
                f"Refused to issue service token for credential type '{principal.type}' "
                f"(plugin '{self._plugin_id}' calling '{target_plugin_id}'); only service "
                "credentials can be forwarded"
            )
            raise AuthenticationError(msg)
        restrictions = principal.access_restrictions
        if restrictions is not None:
            if target_plugin_id not in restrictions.plugin_ids:
                msg = (
                    f"Access to target plugin '{target_plugin_id}' is not included in "
                    f"token's access restrictions (subject '{principal.subject}')"
                )
            else:
                msg = (
                    f"Access to target plugin '{target_plugin_id}' is restricted and cannot "
                    f"be delegated (subject '{principal.subject}')"
                )
            raise NotAllowedError(msg)
        token, _ = self._plugin_tokens.issue(
            source_plugin_id=self._plugin_id, target_plugin_id=target_plugin_id
        )
        if self._key_publisher is not None:
            key = self._keys.signing_key()
            await self._key_publisher.publish(
                key.kid,
                public_jwk(key.kid, key.public_key),
                self._keys.published_until(key).timestamp(),
            )
        return PluginRequestToken(token=token)

    async def list_public_service_keys(self) -> dict[str, list[dict[str, str]]]:
        """Return the plugin's JWKS.

        It lists this process's keys and, with the database key store, the keys
        every other process published for the plugin.
        """
        own = self._keys.public_keys()
        if self._key_publisher is None:
            return own
        kids = {key["kid"] for key in own["keys"]}
        shared = [key for key in await self._key_publisher.list() if key.get("kid") not in kids]
        return {"keys": [*own["keys"], *shared]}
