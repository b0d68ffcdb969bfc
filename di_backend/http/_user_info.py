"""The default ``core.userInfo``: the user token's claims, or the auth backend's userinfo."""

from __future__ import annotations

from typing import cast

import httpx

from di_backend.errors import describe_error
from di_backend.http._jose import json_object, unverified_claims
from di_backend.http._outbound import outbound_client
from di_backend.services._credentials import BackstageCredentials, BackstagePrincipal
from di_backend.services._http import DiscoveryService
from di_backend.services._user_info import BackstageUserInfo, user_principal_of

__all__ = ["DefaultUserInfoService"]

_TIMEOUT = 5.0


class DefaultUserInfoService:
    """Backstage's ``DefaultUserInfoService``.

    The credentials were verified already; their token's ``sub`` is the user
    and its ``ent`` the ownership refs. A token without ``ent`` (a limited user
    token from an ``obo`` claim, or an auth backend configured to omit it) is
    sent to ``<base url of 'auth'>/v1/userinfo``, which answers them.
    """

    def __init__(self, discovery: DiscoveryService) -> None:
        """Find the auth backend through ``discovery``."""
        self._discovery = discovery

    async def get_user_info(
        self, credentials: BackstageCredentials[BackstagePrincipal]
    ) -> BackstageUserInfo:
        """See :meth:`UserInfoService.get_user_info`."""
        principal = user_principal_of(credentials)
        token = credentials.token
        if not token:
            msg = (
                f"User credentials is unexpectedly missing token (user "
                f"'{principal.user_entity_ref}')"
            )
            raise ValueError(msg)
        claims = unverified_claims(token) or {}
        user_entity_ref = claims.get("sub")
        if not isinstance(user_entity_ref, str):
            msg = "User entity ref must be a string (the token's 'sub' claim)"
            raise ValueError(msg)
        ownership = claims.get("ent")
        if ownership is None:
            ownership = await self._fetch_ownership(token)
        if ownership is None:
            msg = f"Ownership entity refs can not be determined for '{user_entity_ref}'"
            raise ValueError(msg)
        if not isinstance(ownership, list):
            msg = "Ownership entity refs must be an array of strings"
            raise ValueError(msg)
        refs = cast("list[object]", ownership)
        if not all(isinstance(ref, str) for ref in refs):
            msg = "Ownership entity refs must be an array of strings"
            raise ValueError(msg)
        return BackstageUserInfo(
            user_entity_ref=user_entity_ref, ownership_entity_refs=tuple(str(r) for r in refs)
        )

    async def _fetch_ownership(self, token: str) -> object:
        url = f"{await self._discovery.get_base_url('auth')}/v1/userinfo"
        try:
            async with outbound_client(timeout=_TIMEOUT) as client:
                response = await client.get(url, headers={"Authorization": f"Bearer {token}"})
            response.raise_for_status()
            body: object = response.json()
        except (httpx.HTTPError, ValueError) as error:
            msg = f"Unable to read the user info at {url}; caused by {describe_error(error)}"
            raise ValueError(msg) from error
        claims = json_object((json_object(body) or {}).get("claims"))
        return None if claims is None else claims.get("ent")
