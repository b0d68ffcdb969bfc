"""``MockAuth`` and ``MockHttpAuth``: auth services that accept and issue mock tokens.

They import :mod:`di_backend.http` (for its error classes) only when they
raise, so ``import di_backend.testing`` stays free of the HTTP stack.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from di_backend._http_credentials import CredentialsCheck
from di_backend.services._credentials import (
    BackstageCredentials,
    BackstageNonePrincipal,
    BackstagePrincipal,
    BackstageServicePrincipal,
    PluginRequestToken,
    PrincipalType,
)
from di_backend.testing._mock_credentials import (
    DEFAULT_MOCK_SERVICE_SUBJECT,
    DEFAULT_MOCK_USER_ENTITY_REF,
    MOCK_AUTH_COOKIE,
    MOCK_INVALID_SERVICE_TOKEN,
    MOCK_INVALID_USER_LIMITED_TOKEN,
    MOCK_INVALID_USER_TOKEN,
    MOCK_NONE_TOKEN,
    MOCK_SERVICE_TOKEN,
    MOCK_SERVICE_TOKEN_PREFIX,
    MOCK_USER_LIMITED_TOKEN_PREFIX,
    MOCK_USER_TOKEN,
    MOCK_USER_TOKEN_PREFIX,
    mock_credentials,
)

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from di_backend.http import AuthenticationError

__all__ = ["LimitedUserToken", "MockAuth", "MockHttpAuth"]

_BEARER = re.compile(r"^Bearer[ ]+(\S+)$", re.IGNORECASE)
_FIXED_ERRORS = {
    MOCK_INVALID_USER_TOKEN: "User token is invalid",
    MOCK_INVALID_USER_LIMITED_TOKEN: "Limited user token is invalid",
    MOCK_INVALID_SERVICE_TOKEN: "Service token is invalid",
    "": "Token is empty",
}


def _authentication_error(message: str) -> AuthenticationError:
    from di_backend.http import AuthenticationError

    return AuthenticationError(message)


def _payload(token: str, prefix: str) -> dict[str, str]:
    """The JSON object after ``prefix``; string members only."""
    try:
        decoded: object = json.loads(token[len(prefix) :])
    except ValueError:
        decoded = None
    if not isinstance(decoded, dict):
        msg = f"Invalid mock token '{token}', expected a JSON object after '{prefix}'"
        raise _authentication_error(msg)
    items: dict[object, object] = decoded  # pyright: ignore[reportUnknownVariableType]
    return {str(key): value for key, value in items.items() if isinstance(value, str)}


@dataclass(frozen=True, slots=True)
class LimitedUserToken:
    """A limited user token and when it expires (``MockAuth.get_limited_user_token``).

    Attributes:
        token: the token, for the ``backstage-auth`` cookie.
        expires_at: one hour after it was issued.
    """

    token: str = field(repr=False)
    expires_at: datetime


class MockAuth:
    """An ``AuthService`` that knows only mock tokens (Backstage's ``MockAuthService``).

    ``authenticate`` accepts the tokens of :data:`mock_credentials` and raises
    ``AuthenticationError`` (401) with Backstage's messages otherwise:
    ``Unknown mock token '<t>'``, ``Invalid mock token target plugin ID, got
    '<t>' but expected '<p>'``, ``User token is invalid``, ``Token is empty``,
    ``Limited user token is not allowed``, ... Tokens it issues are mock service
    tokens aimed at the target plugin.

    Args:
        plugin_id: the plugin whose service this is (default ``"test"``).
        disable_default_auth_policy: as
            ``backend.auth.dangerouslyDisableDefaultAuthPolicy``: requests on
            behalf of nobody get an empty token instead of an error.

    Attributes:
        plugin_id: the plugin whose service this is.
        disable_default_auth_policy: whether the default auth policy is off.
    """

    __slots__ = ("disable_default_auth_policy", "plugin_id")

    def __init__(
        self, plugin_id: str = "test", *, disable_default_auth_policy: bool = False
    ) -> None:
        self.plugin_id = plugin_id
        self.disable_default_auth_policy = disable_default_auth_policy

    def __repr__(self) -> str:
        return f"MockAuth({self.plugin_id!r})"

    async def authenticate(
        self, token: str, *, allow_limited_access: bool = False
    ) -> BackstageCredentials[BackstagePrincipal]:
        """Return the credentials a mock token carries.

        Raises:
            AuthenticationError: the token is not a valid mock token for this plugin.
        """
        fixed_error = _FIXED_ERRORS.get(token)
        if fixed_error is not None:
            raise _authentication_error(fixed_error)
        if token == MOCK_USER_TOKEN:
            return mock_credentials.user()
        if token == MOCK_SERVICE_TOKEN:
            return mock_credentials.service()
        if token.startswith(MOCK_USER_TOKEN_PREFIX):
            payload = _payload(token, MOCK_USER_TOKEN_PREFIX)
            return mock_credentials.user(payload.get("sub", DEFAULT_MOCK_USER_ENTITY_REF))
        if token.startswith(MOCK_USER_LIMITED_TOKEN_PREFIX):
            if not allow_limited_access:
                msg = "Limited user token is not allowed"
                raise _authentication_error(msg)
            payload = _payload(token, MOCK_USER_LIMITED_TOKEN_PREFIX)
            return mock_credentials.user(payload.get("sub", DEFAULT_MOCK_USER_ENTITY_REF))
        if token.startswith(MOCK_SERVICE_TOKEN_PREFIX):
            payload = _payload(token, MOCK_SERVICE_TOKEN_PREFIX)
            target = payload.get("target")
            if target and target != self.plugin_id:
                msg = (
                    f"Invalid mock token target plugin ID, got '{target}' but expected "
                    f"'{self.plugin_id}'"
                )
                raise _authentication_error(msg)
            obo = payload.get("obo")
            if obo:
                return mock_credentials.user(obo)
            return mock_credentials.service(payload.get("sub", DEFAULT_MOCK_SERVICE_SUBJECT))
        msg = f"Unknown mock token '{token}'"
        raise _authentication_error(msg)

    def is_principal(
        self, credentials: BackstageCredentials[BackstagePrincipal], type: PrincipalType
    ) -> bool:
        """Return whether ``credentials`` belong to a principal of ``type``."""
        return credentials.principal.type == type

    async def get_none_credentials(self) -> BackstageCredentials[BackstageNonePrincipal]:
        """Return credentials for nobody."""
        return mock_credentials.none()

    async def get_own_service_credentials(
        self,
    ) -> BackstageCredentials[BackstageServicePrincipal]:
        """Return this plugin's credentials (subject ``plugin:<plugin_id>``)."""
        return mock_credentials.service(f"plugin:{self.plugin_id}")

    async def get_plugin_request_token(
        self,
        *,
        on_behalf_of: BackstageCredentials[BackstagePrincipal],
        target_plugin_id: str,
    ) -> PluginRequestToken:
        """Return a mock service token for ``target_plugin_id``, for a user or a service.

        Raises:
            AuthenticationError: ``Refused to issue service token for credential
                type 'none'`` (unless the default auth policy is disabled: then
                the token is empty).
        """
        principal_type = on_behalf_of.principal.type
        if principal_type == "none" and self.disable_default_auth_policy:
            return PluginRequestToken(token="")
        if principal_type not in ("user", "service"):
            msg = f"Refused to issue service token for credential type '{principal_type}'"
            raise _authentication_error(msg)
        token = mock_credentials.service.token(
            on_behalf_of=on_behalf_of, target_plugin_id=target_plugin_id
        )
        return PluginRequestToken(token=token)

    async def get_limited_user_token(
        self, credentials: BackstageCredentials[BackstagePrincipal]
    ) -> LimitedUserToken:
        """Return a limited token for a user's credentials, valid for an hour.

        Raises:
            AuthenticationError: ``Refused to issue limited user token for
                credential type '<t>'`` for anything but a user.
        """
        principal = credentials.principal
        if principal.type != "user":
            msg = f"Refused to issue limited user token for credential type '{principal.type}'"
            raise _authentication_error(msg)
        return LimitedUserToken(
            token=mock_credentials.limited_user.token(principal.user_entity_ref),
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )

    async def list_public_service_keys(self) -> dict[str, list[dict[str, str]]]:
        """Return an empty JWKS: mock tokens are not signed."""
        return {"keys": []}


class MockHttpAuth(CredentialsCheck):
    """An ``HttpAuthService`` over :class:`MockAuth` (Backstage's ``MockHttpAuthService``).

    The token comes from ``Authorization: Bearer <token>``; ``mock-none-token``
    (``mock_credentials.none.header()``) means nobody. Without a header, and
    where limited access is allowed, the ``backstage-auth`` cookie is used.
    A request with neither counts as ``default_credentials``: the mock user
    ``user:default/mock`` unless given otherwise (pass
    ``mock_credentials.none()`` to make such requests anonymous).

    Args:
        plugin_id: the plugin whose service this is (default ``"test"``).
        default_credentials: the credentials of requests without any.

    Attributes:
        plugin_id: the plugin whose service this is.
        default_credentials: the credentials of requests without any.
    """

    __slots__ = ("_auth", "default_credentials", "plugin_id")

    def __init__(
        self,
        plugin_id: str = "test",
        default_credentials: BackstageCredentials[BackstagePrincipal] | None = None,
    ) -> None:
        self.plugin_id = plugin_id
        self.default_credentials: BackstageCredentials[BackstagePrincipal] = (
            mock_credentials.user() if default_credentials is None else default_credentials
        )
        self._auth = MockAuth(plugin_id)

    def __repr__(self) -> str:
        return f"MockHttpAuth({self.plugin_id!r}, default={self.default_credentials.principal!r})"

    async def _lookup(
        self, request: HTTPConnection, *, allow_limited_access: bool
    ) -> BackstageCredentials[BackstagePrincipal]:
        match = _BEARER.match(request.headers.get("authorization", ""))
        if match is not None:
            token = match.group(1)
            if token == MOCK_NONE_TOKEN:
                return await self._auth.get_none_credentials()
            return await self._auth.authenticate(token, allow_limited_access=allow_limited_access)
        if allow_limited_access:
            cookie = request.cookies.get(MOCK_AUTH_COOKIE)
            if cookie:
                return await self._auth.authenticate(cookie, allow_limited_access=True)
        return self.default_credentials
