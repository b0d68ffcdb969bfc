"""The default HTTP auth service: credentials of incoming requests."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from di_backend._http_credentials import CredentialsCheck
from di_backend.http._errors import HttpError
from di_backend.services._credentials import (
    BackstageCredentials,
    BackstagePrincipal,
)
from di_backend.services._http import AuthService

__all__ = ["AUTH_COOKIE", "DefaultHttpAuthService", "bearer_token"]

AUTH_COOKIE = "backstage-auth"
"""The cookie that carries a limited user token."""

_CACHE_KEY = "di_backend.http.credentials"

_Cached = BackstageCredentials[BackstagePrincipal] | HttpError


def bearer_token(request: HTTPConnection) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header, if any."""
    # The first Authorization header, as ``request.headers.get`` finds it; read from the
    # raw ASGI headers (names are lower case there) without building a Headers object.
    raw: bytes | None = None
    for name, value in request.scope["headers"]:
        if name == b"authorization":
            raw = value
            break
    if raw is None:
        return None
    scheme, _, token = raw.decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class DefaultHttpAuthService(CredentialsCheck):
    """Backstage's default ``HttpAuthService`` for one plugin.

    The token comes from ``Authorization: Bearer``; with ``allow_limited_access``
    the ``backstage-auth`` cookie is used when there is no header. A request
    without a token has ``none`` credentials. Results are cached per request, so
    the credentials barrier and the route verify a token once.
    """

    def __init__(self, auth: AuthService) -> None:
        """Verify tokens with the plugin's ``auth`` service."""
        self._auth = auth

    async def _lookup(
        self, request: HTTPConnection, *, allow_limited_access: bool
    ) -> BackstageCredentials[BackstagePrincipal]:
        token = bearer_token(request)
        if token is None and allow_limited_access:
            token = request.cookies.get(AUTH_COOKIE) or None
        if token is None:
            return await self._auth.get_none_credentials()
        state = request.scope.setdefault("state", {})
        cache: dict[tuple[str, bool], _Cached] = state.setdefault(_CACHE_KEY, {})
        key = (token, allow_limited_access)
        cached = cache.get(key)
        if cached is None:
            try:
                cached = await self._auth.authenticate(
                    token, allow_limited_access=allow_limited_access
                )
            except HttpError as error:
                cached = error
            cache[key] = cached
        if isinstance(cached, HttpError):
            raise cached
        return cached
