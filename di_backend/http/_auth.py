"""The default auth service of one plugin: verify tokens, issue service tokens."""

from __future__ import annotations

import time
from collections import OrderedDict

from di_backend.http._db_keys import DatabaseKeyPublisher
from di_backend.http._errors import AuthenticationError, NotAllowedError
from di_backend.http._external_access import ExternalTokenHandler
from di_backend.http._keys import KeyStore
from di_backend.http._plugin_tokens import PluginTokenHandler
from di_backend.http._user_tokens import UserTokenHandler, create_limited_user_token
from di_backend.services._credentials import (
    BackstageCredentials,
    BackstageNonePrincipal,
    BackstagePrincipal,
    BackstageServicePrincipal,
    BackstageUserPrincipal,
    PluginRequestToken,
    PrincipalType,
)
from di_backend.services._http import DiscoveryService
from di_backend.services._logging import LoggerService

__all__ = ["DefaultAuthService"]

_VERIFIED_CACHE_SIZE = 1024
"""How many verified tokens one plugin's auth service remembers."""

_REFUSAL_LOG_INTERVAL = 10.0
"""Seconds between two log lines about refused tokens with the same reason."""


def _quoted(ids: tuple[str, ...]) -> str:
    return ", ".join(f"'{plugin_id}'" for plugin_id in ids)


class DefaultAuthService:
    """Backstage's default ``AuthService`` for one plugin.

    Tokens are checked in Backstage's order: plugin service tokens (this
    backend's or another backend's, by their ``typ`` header; one with an ``obo``
    claim stands for the user in it), then user tokens of the auth backend,
    then the tokens of ``backend.auth.externalAccess``. A verified plugin token
    from plugin ``p`` has the principal ``plugin:p``.
    """

    def __init__(
        self,
        plugin_id: str,
        *,
        keys: KeyStore,
        plugin_tokens: PluginTokenHandler,
        external_tokens: ExternalTokenHandler,
        discovery: DiscoveryService,
        user_tokens: UserTokenHandler | None = None,
        disable_default_auth_policy: bool = False,
        key_publisher: DatabaseKeyPublisher | None = None,
        logger: LoggerService | None = None,
    ) -> None:
        """Create the auth service of ``plugin_id`` over the backend's shared key material."""
        self._plugin_id = plugin_id
        self._keys = keys
        self._plugin_tokens = plugin_tokens
        self._external_tokens = external_tokens
        self._discovery = discovery
        self._disable_default_auth_policy = disable_default_auth_policy
        self._key_publisher = key_publisher
        self._user_tokens = user_tokens or UserTokenHandler(plugin_tokens.jwks)
        self._logger = logger
        self._refusals_logged: dict[str, float] = {}
        # Verified tokens by their exact text (a hit cannot be forged: the key is the
        # whole signed string); only successes that expire, re-checked on a hit.
        # (credentials, expiry as a POSIX timestamp)
        self._verified: OrderedDict[
            tuple[str, bool], tuple[BackstageCredentials[BackstagePrincipal], float]
        ] = OrderedDict()

    async def authenticate(
        self, token: str, *, allow_limited_access: bool = False
    ) -> BackstageCredentials[BackstagePrincipal]:
        """Verify ``token``; see :meth:`AuthService.authenticate`.

        A refused token is logged (at most once per reason every 10 seconds),
        naming the issuer and the reason.
        """
        if not token:
            msg = "Illegal token: the token is empty"
            raise AuthenticationError(msg)
        cached = self.verified_credentials(token, allow_limited_access=allow_limited_access)
        if cached is not None:
            return cached
        key = (token, allow_limited_access)
        try:
            credentials = await self._authenticate(token, allow_limited_access)
        except (AuthenticationError, NotAllowedError) as error:
            self._log_refusal(error)
            raise
        if credentials.expires_at is not None:
            self._verified[key] = (credentials, credentials.expires_at.timestamp())
            if len(self._verified) > _VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        return credentials

    def verified_credentials(
        self, token: str, *, allow_limited_access: bool = False
    ) -> BackstageCredentials[BackstagePrincipal] | None:
        """What :meth:`authenticate` returns for a token it verified and that has not expired.

        ``None`` when the token has to be verified (never verified, refused, or expired);
        synchronous, so that a request can skip the coroutine of ``authenticate``.
        """
        key = (token, allow_limited_access)
        cached = self._verified.get(key)
        if cached is None:
            return None
        if time.time() < cached[1]:  # the expiry as a timestamp: no datetime per request
            self._verified.move_to_end(key)
            return cached[0]
        del self._verified[key]
        return None

    def _log_refusal(self, error: Exception) -> None:
        if self._logger is None:
            return
        message = str(error)
        now = time.monotonic()
        last = self._refusals_logged.get(message)
        if last is not None and now - last < _REFUSAL_LOG_INTERVAL:
            return
        if len(self._refusals_logged) > _VERIFIED_CACHE_SIZE:
            self._refusals_logged.clear()
        self._refusals_logged[message] = now
        self._logger.warn(f"Refused a token sent to plugin '{self._plugin_id}': {message}")

    async def _authenticate(
        self, token: str, allow_limited_access: bool
    ) -> BackstageCredentials[BackstagePrincipal]:
        if self._plugin_tokens.is_plugin_token(token):
            verified = await self._plugin_tokens.verify(
                token, own_plugin_id=self._plugin_id, discovery=self._discovery
            )
            if verified.on_behalf_of is not None:
                try:
                    user = await self._user_tokens.verify(
                        verified.on_behalf_of, discovery=self._discovery
                    )
                except AuthenticationError as error:
                    msg = (
                        f"Invalid user token in plugin token obo claim (from "
                        f"'{verified.subject}'): {error}"
                    )
                    raise AuthenticationError(msg) from error
                if user is None:
                    msg = (
                        f"Invalid user token in plugin token obo claim (from "
                        f"'{verified.subject}'): it is not a user token"
                    )
                    raise AuthenticationError(msg)
                return BackstageCredentials(
                    principal=BackstageUserPrincipal(user_entity_ref=user.user_entity_ref),
                    expires_at=user.expires_at,
                    token=verified.on_behalf_of,
                )
            return BackstageCredentials(
                principal=BackstageServicePrincipal(subject=verified.subject),
                expires_at=verified.expires_at,
                token=token,
            )
        user = await self._user_tokens.verify(token, discovery=self._discovery)
        if user is not None:
            if user.limited and not allow_limited_access:
                msg = (
                    f"Illegal limited user token: plugin '{self._plugin_id}' accepts a "
                    "limited user token only where limited access is allowed"
                )
                raise AuthenticationError(msg)
            return BackstageCredentials(
                principal=BackstageUserPrincipal(user_entity_ref=user.user_entity_ref),
                expires_at=user.expires_at,
                token=token,
            )
        entry = await self._external_tokens.verify(token)
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
                expires_at=entry.expires_at,
                token=token,
            )
        msg = (
            f"Illegal token; plugin '{self._plugin_id}' accepts plugin service tokens, "
            "user tokens of the auth backend and the tokens in backend.auth.externalAccess"
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
        if principal.type == "user":
            if not on_behalf_of.token:
                msg = (
                    f"User credentials is unexpectedly missing token (plugin "
                    f"'{self._plugin_id}' calling '{target_plugin_id}' on behalf of "
                    f"'{principal.user_entity_ref}')"
                )
                raise AuthenticationError(msg)
            limited = create_limited_user_token(on_behalf_of.token)
            token, _ = self._plugin_tokens.issue(
                source_plugin_id=self._plugin_id,
                target_plugin_id=target_plugin_id,
                on_behalf_of=limited,
            )
            await self._publish_signing_key()
            return PluginRequestToken(token=token)
        if principal.type != "service":
            msg = (
                f"Refused to issue service token for credential type '{principal.type}' "
                f"(plugin '{self._plugin_id}' calling '{target_plugin_id}'); only service "
                "and user credentials can be forwarded"
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
        await self._publish_signing_key()
        return PluginRequestToken(token=token)

    async def _publish_signing_key(self) -> None:
        if self._key_publisher is not None:
            key = self._keys.signing_key()
            await self._key_publisher.publish(
                key.kid, key.public_jwk, self._keys.published_until(key).timestamp()
            )

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
