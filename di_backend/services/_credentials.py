"""Who is calling: principals, credentials and the tokens plugins send each other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Literal, TypeAlias, TypeVar

__all__ = [
    "AuthPolicyAllow",
    "BackstageCredentials",
    "BackstageNonePrincipal",
    "BackstagePrincipal",
    "BackstageServicePrincipal",
    "BackstageUserPrincipal",
    "PluginRequestToken",
    "PrincipalType",
    "ServiceAccessRestrictions",
]

PrincipalType: TypeAlias = Literal["user", "service", "none"]
"""The kinds of principal a request can carry."""

AuthPolicyAllow: TypeAlias = Literal["unauthenticated", "user-cookie"]
"""What an auth policy opens a path to (``HttpRouterService.add_auth_policy``)."""


@dataclass(frozen=True, slots=True)
class ServiceAccessRestrictions:
    """Limits on what a service principal (an external access token) may reach.

    Attributes:
        plugin_ids: the plugins the principal may call; empty means no plugin.
        permission_names: permission names it is limited to (carried, not enforced yet).

    """

    plugin_ids: tuple[str, ...]
    permission_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BackstageServicePrincipal:
    """A service: another plugin (``plugin:<id>``) or an external caller.

    Attributes:
        subject: ``plugin:<plugin_id>`` for plugins, the configured subject for
            external access tokens.
        access_restrictions: what the caller may reach, ``None`` for no limits.
        type: always ``"service"``.

    """

    subject: str
    access_restrictions: ServiceAccessRestrictions | None = None
    type: Literal["service"] = field(default="service", init=False)


@dataclass(frozen=True, slots=True)
class BackstageUserPrincipal:
    """A signed-in user.

    Attributes:
        user_entity_ref: the user's entity ref, e.g. ``user:default/jane``.
        type: always ``"user"``.

    """

    user_entity_ref: str
    type: Literal["user"] = field(default="user", init=False)

    @property
    def subject(self) -> str:
        """The user entity ref (the same value as :attr:`user_entity_ref`)."""
        return self.user_entity_ref


@dataclass(frozen=True, slots=True)
class BackstageNonePrincipal:
    """Nobody: a request without credentials.

    Attributes:
        type: always ``"none"``.

    """

    type: Literal["none"] = field(default="none", init=False)

    @property
    def subject(self) -> None:
        """Always ``None``: there is nobody to name."""
        return None


BackstagePrincipal: TypeAlias = (
    BackstageServicePrincipal | BackstageUserPrincipal | BackstageNonePrincipal
)
"""Any principal; narrow it with ``principal.type == "service"`` and friends."""

P_co = TypeVar("P_co", bound=BackstagePrincipal, covariant=True)


@dataclass(frozen=True, slots=True)
class BackstageCredentials(Generic[P_co]):
    """Verified credentials of a caller.

    Attributes:
        principal: who is calling.
        expires_at: when the token behind the credentials expires, if known.
        token: the raw token the credentials came from (hidden from ``repr``).

    """

    principal: P_co
    expires_at: datetime | None = None
    token: str | None = field(default=None, repr=False, compare=False)

    def allowed_by(self, allow: Sequence[PrincipalType]) -> bool:
        """Return whether the principal's type is one of ``allow``."""
        return self.principal.type in allow


@dataclass(frozen=True, slots=True)
class PluginRequestToken:
    """A token to send as ``Authorization: Bearer <token>`` to another plugin.

    Attributes:
        token: the token; empty when the default auth policy is disabled and the
            caller had no credentials.

    """

    token: str = field(repr=False)
