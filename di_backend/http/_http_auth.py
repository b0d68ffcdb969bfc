"""The default HTTP auth service: credentials of incoming requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from starlette.requests import HTTPConnection
from starlette.types import Scope

from di_backend._http_credentials import CredentialsCheck
from di_backend.http._auth import DefaultAuthService
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
_TOKEN_KEY = "di_backend.http.bearer"  # (raw Authorization value, its bearer token)

_Cached = BackstageCredentials[BackstagePrincipal] | HttpError


def _authorization(scope: Scope) -> bytes | None:
    """The first ``Authorization`` header's raw value (ASGI header names are lower case)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return cast("bytes", value)
    return None


def _bearer(raw: bytes) -> str | None:
    scheme, _, token = raw.decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def bearer_token(request: HTTPConnection) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header, if any."""
    # The first Authorization header, as ``request.headers.get`` finds it; read from the
    # raw ASGI headers without building a Headers object.
    raw = _authorization(request.scope)
    return None if raw is None else _bearer(raw)


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
        # The default auth service's tokens verified earlier, read without a coroutine
        # (exactly that class: a subclass may authenticate differently).
        self._verified: Callable[..., BackstageCredentials[BackstagePrincipal] | None] | None = (
            auth.verified_credentials if type(auth) is DefaultAuthService else None
        )

    def _known(
        self, scope: Scope, *, allow_limited_access: bool
    ) -> BackstageCredentials[BackstagePrincipal] | None:
        # What _lookup would return, when it needs no coroutine: the credentials this
        # request already has, or those of a bearer token the auth service verified
        # earlier (the barrier's usual case). None: ask _lookup.
        state: dict[str, Any] | None = scope.get("state")
        if state is None:
            return None
        raw = _authorization(scope)
        memo: tuple[bytes | None, str | None] | None = state.get(_TOKEN_KEY)
        if memo is None or memo[0] is not raw:  # not seen yet, or the header changed since
            memo = state[_TOKEN_KEY] = (raw, None if raw is None else _bearer(raw))
        token = memo[1]
        if token is None:
            return None  # no bearer token: none credentials or the cookie, the long way
        cache: dict[tuple[str, bool], _Cached] | None = state.get(_CACHE_KEY)
        key = (token, allow_limited_access)
        cached = None if cache is None else cache.get(key)
        if cached is None and self._verified is not None:
            cached = self._verified(token, allow_limited_access=allow_limited_access)
            if cached is not None:
                state.setdefault(_CACHE_KEY, {})[key] = cached
        return None if cached is None or isinstance(cached, HttpError) else cached

    async def _lookup(
        self, request: HTTPConnection, *, allow_limited_access: bool
    ) -> BackstageCredentials[BackstagePrincipal]:
        scope = request.scope
        state = scope.setdefault("state", {})
        raw = _authorization(scope)
        # the barrier and the route read the same header value: parse it once
        memo: tuple[bytes | None, str | None] | None = state.get(_TOKEN_KEY)
        if memo is not None and memo[0] is raw:
            token = memo[1]
        else:
            token = None if raw is None else _bearer(raw)
            state[_TOKEN_KEY] = (raw, token)
        if token is None and allow_limited_access:
            token = request.cookies.get(AUTH_COOKIE) or None
        if token is None:
            return await self._auth.get_none_credentials()
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
