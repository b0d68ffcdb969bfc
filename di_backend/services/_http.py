"""The HTTP, health, discovery and auth service interfaces (``typing.Protocol`` classes).

Implementations live in :mod:`di_backend.http`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, overload, runtime_checkable

from di_backend.services._config import JsonValue
from di_backend.services._credentials import (
    AuthPolicyAllow,
    BackstageCredentials,
    BackstageNonePrincipal,
    BackstagePrincipal,
    BackstageServicePrincipal,
    BackstageUserPrincipal,
    PluginRequestToken,
    PrincipalType,
)

if TYPE_CHECKING:  # starlette is only needed by implementations, not to import the interfaces
    from starlette.requests import HTTPConnection
    from starlette.types import ASGIApp

__all__ = [
    "AuthService",
    "DiscoveryService",
    "HealthCheckResult",
    "HttpAuthService",
    "HttpRouterService",
    "RootHealthService",
    "RootHttpRouterService",
]


@runtime_checkable
class RootHttpRouterService(Protocol):
    """The backend's one HTTP server (``core.rootHttpRouter``)."""

    def use(self, path: str, app: ASGIApp) -> None:
        """Serve ``app`` for every request whose path starts with ``path``.

        Raises:
            RouterError: ``path`` is empty or does not start with ``/``.
            ConflictError: one of ``path`` and an existing path is a prefix of the
                other (compared lower-case with a trailing ``/``).

        """
        ...


@runtime_checkable
class HttpRouterService(Protocol):
    """A plugin's HTTP routes, served at ``/api/<plugin_id>`` (``core.httpRouter``)."""

    def use(self, app: ASGIApp) -> None:
        """Add a Starlette router (or any ASGI app) to the plugin's routes."""
        ...

    def add_auth_policy(self, *, path: str, allow: AuthPolicyAllow) -> None:
        """Let requests below ``path`` through without the usual credentials.

        Args:
            path: relative to the plugin's base URL; a prefix match, ``/`` or ``*``
                matches everything, ``:name`` matches one segment.
            allow: ``"unauthenticated"`` (no credentials needed) or ``"user-cookie"``
                (limited user tokens and the auth cookie are accepted too).

        """
        ...


@dataclass(frozen=True, slots=True)
class HealthCheckResult:
    """The answer of a health check.

    Attributes:
        status: the HTTP status code to answer with.
        payload: the JSON body.

    """

    status: int
    payload: JsonValue = field(default=None)


@runtime_checkable
class RootHealthService(Protocol):
    """Liveness and readiness of the backend (``core.rootHealth``)."""

    async def get_liveness(self) -> HealthCheckResult:
        """Return whether the process is alive (``200 {"status": "ok"}``)."""
        ...

    async def get_readiness(self) -> HealthCheckResult:
        """Return whether the backend is ready to serve traffic."""
        ...


@runtime_checkable
class DiscoveryService(Protocol):
    """Where plugins are served (``core.discovery``); ask again for every request."""

    async def get_base_url(self, plugin_id: str) -> str:
        """Return the internal base URL of ``plugin_id``, e.g. ``http://localhost:7007/api/todo``."""
        ...

    async def get_external_base_url(self, plugin_id: str) -> str:
        """Return the base URL of ``plugin_id`` as seen from outside (``backend.baseUrl``)."""
        ...


@runtime_checkable
class AuthService(Protocol):
    """Token checks and service tokens for one plugin (``core.auth``)."""

    async def authenticate(
        self, token: str, *, allow_limited_access: bool = False
    ) -> BackstageCredentials[BackstagePrincipal]:
        """Verify ``token`` and return the credentials it carries.

        Raises:
            AuthenticationError: the token is invalid, expired or not meant for
                this plugin.
            NotAllowedError: the token may not be used with this plugin.

        """
        ...

    def is_principal(
        self, credentials: BackstageCredentials[BackstagePrincipal], type: PrincipalType
    ) -> bool:
        """Return whether ``credentials`` belong to a principal of ``type``."""
        ...

    async def get_none_credentials(self) -> BackstageCredentials[BackstageNonePrincipal]:
        """Return credentials for nobody."""
        ...

    async def get_own_service_credentials(
        self,
    ) -> BackstageCredentials[BackstageServicePrincipal]:
        """Return this plugin's credentials (subject ``plugin:<plugin_id>``)."""
        ...

    async def get_plugin_request_token(
        self,
        *,
        on_behalf_of: BackstageCredentials[BackstagePrincipal],
        target_plugin_id: str,
    ) -> PluginRequestToken:
        """Issue a token for calling ``target_plugin_id`` on behalf of someone.

        Raises:
            AuthenticationError: tokens cannot be issued for that kind of principal.
            NotAllowedError: the principal's access is restricted.

        """
        ...

    async def list_public_service_keys(self) -> dict[str, list[dict[str, str]]]:
        """Return the JWKS (``{"keys": [...]}``) that verifies this backend's tokens."""
        ...


@runtime_checkable
class HttpAuthService(Protocol):
    """Credentials of incoming requests (``core.httpAuth``)."""

    @overload
    async def credentials(
        self,
        request: HTTPConnection,
        *,
        allow: Sequence[Literal["service"]],
        allow_limited_access: bool = False,
    ) -> BackstageCredentials[BackstageServicePrincipal]: ...

    @overload
    async def credentials(
        self,
        request: HTTPConnection,
        *,
        allow: Sequence[Literal["user"]],
        allow_limited_access: bool = False,
    ) -> BackstageCredentials[BackstageUserPrincipal]: ...

    @overload
    async def credentials(
        self,
        request: HTTPConnection,
        *,
        allow: Sequence[PrincipalType] | None = None,
        allow_limited_access: bool = False,
    ) -> BackstageCredentials[BackstagePrincipal]: ...

    async def credentials(
        self,
        request: HTTPConnection,
        *,
        allow: Sequence[PrincipalType] | None = None,
        allow_limited_access: bool = False,
    ) -> BackstageCredentials[BackstagePrincipal]:
        """Return the verified credentials of ``request``.

        Args:
            request: the incoming request.
            allow: the principal types the endpoint accepts; all when ``None``.
            allow_limited_access: accept limited user tokens and the auth cookie.

        Raises:
            AuthenticationError: no or invalid credentials where some are needed
                (401, ``Missing credentials``).
            NotAllowedError: a principal type not in ``allow`` (403).

        """
        ...
