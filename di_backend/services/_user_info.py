"""Who a signed-in user is and what they own (``core.userInfo``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from di_backend.services._credentials import (
    BackstageCredentials,
    BackstagePrincipal,
    BackstageUserPrincipal,
)

__all__ = ["BackstageUserInfo", "UserInfoService", "user_principal_of"]


def user_principal_of(
    credentials: BackstageCredentials[BackstagePrincipal],
) -> BackstageUserPrincipal:
    """The user principal of ``credentials``.

    Raises:
        ValueError: Backstage's ``Only user credentials are supported``, with the type.
    """
    principal = credentials.principal
    if principal.type != "user":
        msg = f"Only user credentials are supported, got '{principal.type}' credentials"
        raise ValueError(msg)
    return principal


@dataclass(frozen=True, slots=True)
class BackstageUserInfo:
    """A user and the entities they own, as Backstage's ``BackstageUserInfo``.

    Attributes:
        user_entity_ref: the user's entity ref, e.g. ``user:default/jane``.
        ownership_entity_refs: the refs the user owns through (the user and their groups).

    """

    user_entity_ref: str
    ownership_entity_refs: tuple[str, ...]


class UserInfoService(Protocol):
    """Reads the user info of user credentials (``core.userInfo``)."""

    async def get_user_info(
        self, credentials: BackstageCredentials[BackstagePrincipal]
    ) -> BackstageUserInfo:
        """Return the user and ownership refs behind ``credentials``.

        The refs come from the user token's ``ent`` claim or, when the token
        has none (a limited token, or an auth backend that omits it), from the
        auth backend's ``/v1/userinfo``.

        Raises:
            ValueError: ``Only user credentials are supported``, or the token carries
                no usable user info.

        """
        ...
