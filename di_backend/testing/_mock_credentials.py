"""``mock_credentials``: credentials, mock tokens and headers (Backstage's ``mockCredentials``).

The mock auth services (``mock_services.auth`` and ``mock_services.http_auth``)
accept exactly these tokens, so a test can call a protected route::

    response = await client.get(
        "/api/todo/items", headers={"Authorization": mock_credentials.service.header()}
    )

Tokens are the strings Backstage's test utilities use (``mock-user-token``,
``mock-service-token:{"sub":"plugin:a","target":"b"}``, ...), JSON without spaces.
"""

from __future__ import annotations

import json
import re
from typing import Final

from di_backend.errors import DiBackendError
from di_backend.services._credentials import (
    BackstageCredentials,
    BackstageNonePrincipal,
    BackstagePrincipal,
    BackstageServicePrincipal,
    BackstageUserPrincipal,
    ServiceAccessRestrictions,
)

__all__ = [
    "DEFAULT_MOCK_SERVICE_SUBJECT",
    "DEFAULT_MOCK_USER_ENTITY_REF",
    "MOCK_AUTH_COOKIE",
    "MOCK_INVALID_SERVICE_TOKEN",
    "MOCK_INVALID_USER_LIMITED_TOKEN",
    "MOCK_INVALID_USER_TOKEN",
    "MOCK_NONE_TOKEN",
    "MOCK_SERVICE_TOKEN",
    "MOCK_SERVICE_TOKEN_PREFIX",
    "MOCK_USER_LIMITED_TOKEN_PREFIX",
    "MOCK_USER_TOKEN",
    "MOCK_USER_TOKEN_PREFIX",
    "InvalidUserEntityRefError",
    "mock_credentials",
]

DEFAULT_MOCK_USER_ENTITY_REF: Final = "user:default/mock"
"""The user of ``mock_credentials.user()`` and of requests without credentials."""
DEFAULT_MOCK_SERVICE_SUBJECT: Final = "external:test-service"
"""The subject of ``mock_credentials.service()`` and of the plain mock service token."""

MOCK_AUTH_COOKIE: Final = "backstage-auth"
"""The cookie that carries a limited user token."""
MOCK_NONE_TOKEN: Final = "mock-none-token"
"""Sent as a bearer token, it makes a request unauthenticated (``none`` credentials)."""
MOCK_USER_TOKEN: Final = "mock-user-token"
"""The token of the default mock user."""
MOCK_USER_TOKEN_PREFIX: Final = "mock-user-token:"
"""A user token with a JSON payload ``{"sub": <user entity ref>}`` follows this prefix."""
MOCK_INVALID_USER_TOKEN: Final = "mock-invalid-user-token"
"""A user token the mock auth service rejects (``User token is invalid``)."""
MOCK_USER_LIMITED_TOKEN_PREFIX: Final = "mock-limited-user-token:"
"""A limited user token with a JSON payload ``{"sub": <user entity ref>}`` follows this prefix."""
MOCK_INVALID_USER_LIMITED_TOKEN: Final = "mock-invalid-limited-user-token"
"""A limited user token the mock auth service rejects (``Limited user token is invalid``)."""
MOCK_SERVICE_TOKEN: Final = "mock-service-token"
"""The token of the default mock service (``external:test-service``)."""
MOCK_SERVICE_TOKEN_PREFIX: Final = "mock-service-token:"
"""A service token with a JSON payload ``{"sub", "obo", "target"}`` follows this prefix."""
MOCK_INVALID_SERVICE_TOKEN: Final = "mock-invalid-service-token"
"""A service token the mock auth service rejects (``Service token is invalid``)."""

_USER_ENTITY_REF = re.compile(r".+:.+/.+")  # with fullmatch: no trailing newline


class InvalidUserEntityRefError(DiBackendError, TypeError):
    """Raised when a mock user is not named ``<kind>:<namespace>/<name>``."""


def validate_user_entity_ref(ref: str) -> str:
    """Return ``ref`` if it looks like ``<kind>:<namespace>/<name>``.

    Raises:
        InvalidUserEntityRefError: ``Invalid user entity reference '<ref>',
            expected <kind>:<namespace>/<name>``.
    """
    checked: object = ref  # callers without a type checker may pass anything
    if not isinstance(checked, str) or not _USER_ENTITY_REF.fullmatch(checked):
        msg = f"Invalid user entity reference '{ref}', expected <kind>:<namespace>/<name>"
        raise InvalidUserEntityRefError(msg)
    return ref


def encode_payload(prefix: str, payload: dict[str, str | None]) -> str:
    """Return ``prefix`` and the payload as compact JSON, without the ``None`` values."""
    present = {key: value for key, value in payload.items() if value is not None}
    return prefix + json.dumps(present, separators=(",", ":"))


def _bearer(token: str) -> str:
    return f"Bearer {token}"


class NoneCredentials:
    """``mock_credentials.none``: nobody (call it), and the header that says so."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "mock_credentials.none"

    def __call__(self) -> BackstageCredentials[BackstageNonePrincipal]:
        """Return credentials for nobody."""
        return BackstageCredentials(principal=BackstageNonePrincipal())

    def header(self) -> str:
        """Return ``Bearer mock-none-token``: the mock HTTP auth treats the request as anonymous.

        Use it to test unauthenticated requests: without any header the mock
        HTTP auth service counts a request as the default mock user.
        """
        return _bearer(MOCK_NONE_TOKEN)


class UserCredentials:
    """``mock_credentials.user``: a user's credentials (call it), tokens and headers."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "mock_credentials.user"

    def __call__(
        self, user_entity_ref: str = DEFAULT_MOCK_USER_ENTITY_REF
    ) -> BackstageCredentials[BackstageUserPrincipal]:
        """Return the credentials of ``user_entity_ref`` (default ``user:default/mock``).

        Raises:
            InvalidUserEntityRefError: the ref is not ``<kind>:<namespace>/<name>``.
        """
        validate_user_entity_ref(user_entity_ref)
        return BackstageCredentials(
            principal=BackstageUserPrincipal(user_entity_ref=user_entity_ref),
            token=self.token(user_entity_ref),
        )

    def token(self, user_entity_ref: str | None = None) -> str:
        """Return a mock user token: ``mock-user-token``, or one naming ``user_entity_ref``.

        Raises:
            InvalidUserEntityRefError: the ref is not ``<kind>:<namespace>/<name>``.
        """
        if user_entity_ref is None:
            return MOCK_USER_TOKEN
        validate_user_entity_ref(user_entity_ref)
        return encode_payload(MOCK_USER_TOKEN_PREFIX, {"sub": user_entity_ref})

    def header(self, user_entity_ref: str | None = None) -> str:
        """Return ``Bearer <token>`` for :meth:`token`."""
        return _bearer(self.token(user_entity_ref))

    def invalid_token(self) -> str:
        """Return a user token the mock auth service rejects."""
        return MOCK_INVALID_USER_TOKEN

    def invalid_header(self) -> str:
        """Return ``Bearer <invalid user token>``."""
        return _bearer(MOCK_INVALID_USER_TOKEN)


class LimitedUserCredentials:
    """``mock_credentials.limited_user``: limited (cookie) user credentials, tokens, cookies."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "mock_credentials.limited_user"

    def __call__(
        self, user_entity_ref: str = DEFAULT_MOCK_USER_ENTITY_REF
    ) -> BackstageCredentials[BackstageUserPrincipal]:
        """Return the user credentials a limited token of ``user_entity_ref`` authenticates as."""
        return mock_credentials.user(user_entity_ref)

    def token(self, user_entity_ref: str = DEFAULT_MOCK_USER_ENTITY_REF) -> str:
        """Return a limited user token; accepted only where limited access is allowed.

        Raises:
            InvalidUserEntityRefError: the ref is not ``<kind>:<namespace>/<name>``.
        """
        validate_user_entity_ref(user_entity_ref)
        return encode_payload(MOCK_USER_LIMITED_TOKEN_PREFIX, {"sub": user_entity_ref})

    def cookie(self, user_entity_ref: str = DEFAULT_MOCK_USER_ENTITY_REF) -> str:
        """Return a ``Cookie`` header value: ``backstage-auth=<limited token>``."""
        return f"{MOCK_AUTH_COOKIE}={self.token(user_entity_ref)}"

    def invalid_token(self) -> str:
        """Return a limited user token the mock auth service rejects."""
        return MOCK_INVALID_USER_LIMITED_TOKEN

    def invalid_cookie(self) -> str:
        """Return a ``Cookie`` header value with an invalid limited user token."""
        return f"{MOCK_AUTH_COOKIE}={MOCK_INVALID_USER_LIMITED_TOKEN}"


class ServiceCredentials:
    """``mock_credentials.service``: a service's credentials (call it), tokens and headers."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "mock_credentials.service"

    def __call__(
        self,
        subject: str = DEFAULT_MOCK_SERVICE_SUBJECT,
        access_restrictions: ServiceAccessRestrictions | None = None,
    ) -> BackstageCredentials[BackstageServicePrincipal]:
        """Return the credentials of the service ``subject`` (e.g. ``plugin:catalog``)."""
        return BackstageCredentials(
            principal=BackstageServicePrincipal(
                subject=subject, access_restrictions=access_restrictions
            )
        )

    def token(
        self,
        subject: str | None = None,
        *,
        on_behalf_of: BackstageCredentials[BackstagePrincipal] | None = None,
        target_plugin_id: str | None = None,
    ) -> str:
        """Return a mock service token.

        Without arguments: ``mock-service-token`` (the service
        ``external:test-service``, accepted by every plugin). ``subject`` names
        the calling service (``"plugin:other"``); ``on_behalf_of`` takes the
        subject (a service) or the user (who the call is made for) from
        credentials, as ``AuthService.get_plugin_request_token`` does;
        ``target_plugin_id`` makes only that plugin accept the token.

        Raises:
            ValueError: both ``subject`` and ``on_behalf_of`` are given.
        """
        if subject is None and on_behalf_of is None and target_plugin_id is None:
            return MOCK_SERVICE_TOKEN
        obo: str | None = None
        if on_behalf_of is not None:
            if subject is not None:
                msg = "Give either subject or on_behalf_of to mock_credentials.service, not both"
                raise ValueError(msg)
            principal = on_behalf_of.principal
            if principal.type == "service":
                subject = principal.subject
            elif principal.type == "user":
                obo = principal.user_entity_ref
        payload = {"sub": subject, "obo": obo, "target": target_plugin_id}
        return encode_payload(MOCK_SERVICE_TOKEN_PREFIX, payload)

    def header(
        self,
        subject: str | None = None,
        *,
        on_behalf_of: BackstageCredentials[BackstagePrincipal] | None = None,
        target_plugin_id: str | None = None,
    ) -> str:
        """Return ``Bearer <token>`` for :meth:`token` (same arguments)."""
        token = self.token(subject, on_behalf_of=on_behalf_of, target_plugin_id=target_plugin_id)
        return _bearer(token)

    def invalid_token(self) -> str:
        """Return a service token the mock auth service rejects."""
        return MOCK_INVALID_SERVICE_TOKEN

    def invalid_header(self) -> str:
        """Return ``Bearer <invalid service token>``."""
        return _bearer(MOCK_INVALID_SERVICE_TOKEN)


class mock_credentials:
    """Mock credentials and the tokens, headers and cookies that carry them.

    Each entry is called for credentials and has ``token`` / ``header`` (or
    ``cookie``) helpers for requests, as Backstage's ``mockCredentials``:

    * ``mock_credentials.none()``; ``none.header()`` makes a request anonymous;
    * ``mock_credentials.user("user:default/jane")``; ``user.header(...)``;
    * ``mock_credentials.limited_user(...)``; ``limited_user.cookie(...)``;
    * ``mock_credentials.service("plugin:other")``; ``service.header("plugin:other")``
      or ``service.header(on_behalf_of=..., target_plugin_id="todo")``.

    ``invalid_token()`` / ``invalid_header()`` give tokens the mocks reject.
    """

    none: Final = NoneCredentials()
    """Nobody; ``none.header()`` makes a request unauthenticated."""
    user: Final = UserCredentials()
    """A user, by entity ref (default ``user:default/mock``)."""
    limited_user: Final = LimitedUserCredentials()
    """A user with a limited (cookie) token."""
    service: Final = ServiceCredentials()
    """A service, by subject (default ``external:test-service``)."""
