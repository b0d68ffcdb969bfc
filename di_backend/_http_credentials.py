"""The ``credentials(request, allow=...)`` check shared by every ``HttpAuthService``.

Implementations (the default one in :mod:`di_backend.http`, the mock in
:mod:`di_backend.testing`) differ only in how they find a request's credentials;
they subclass :class:`CredentialsCheck` and implement ``_lookup``. This module
imports no HTTP library at run time, so ``di_backend.testing`` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, overload

from di_backend.services._credentials import (
    BackstageCredentials,
    BackstagePrincipal,
    BackstageServicePrincipal,
    BackstageUserPrincipal,
    PrincipalType,
)

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection
    from starlette.types import Scope

__all__ = ["CredentialsCheck"]


class CredentialsCheck:
    """Base class of ``HttpAuthService`` implementations: the ``allow`` filter."""

    __slots__ = ()

    async def _lookup(
        self, request: HTTPConnection, *, allow_limited_access: bool
    ) -> BackstageCredentials[BackstagePrincipal]:
        """Return the credentials ``request`` carries (``none`` when it carries none)."""
        raise NotImplementedError

    def _known(
        self, scope: Scope, *, allow_limited_access: bool
    ) -> BackstageCredentials[BackstagePrincipal] | None:
        """What ``_lookup`` returns when it is already known for the request, else ``None``.

        Given the request's ASGI scope: the credentials barrier asks before it builds a
        request object.

        A shortcut without a coroutine (the route asking after the credentials barrier);
        ``None`` just means: ask ``_lookup``.
        """
        return None

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
        """Return the credentials of ``request``; see :class:`~di_backend.services.HttpAuthService`.

        Raises:
            AuthenticationError: an invalid token, or ``Missing credentials`` where
                ``none`` is not allowed (401).
            NotAllowedError: ``This endpoint does not allow '<type>' credentials`` (403).
        """
        credentials = self._known(
            request.scope, allow_limited_access=allow_limited_access
        ) or await self._lookup(request, allow_limited_access=allow_limited_access)
        if allow is None or credentials.allowed_by(allow):
            return credentials
        # Only a refused request needs the HTTP error types (and the HTTP package).
        from di_backend.http._errors import AuthenticationError, NotAllowedError

        if credentials.principal.type == "none":
            msg = "Missing credentials"
            raise AuthenticationError(msg)
        msg = f"This endpoint does not allow '{credentials.principal.type}' credentials"
        raise NotAllowedError(msg)
