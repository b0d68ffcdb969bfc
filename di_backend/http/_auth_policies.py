"""Auth policies and the credentials barrier in front of a plugin's routes."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Literal

from starlette.requests import HTTPConnection
from starlette.types import Scope

from di_backend._http_credentials import CredentialsCheck
from di_backend.http._errors import RouterError
from di_backend.services._credentials import AuthPolicyAllow
from di_backend.services._http import HttpAuthService

__all__ = ["AuthPolicy", "CredentialsBarrier", "compile_policy_path"]

_ALLOWED: tuple[AuthPolicyAllow, ...] = ("unauthenticated", "user-cookie")


def compile_policy_path(path: str) -> re.Pattern[str]:
    """Compile an auth policy path to a case-insensitive prefix matcher.

    ``/`` and ``*`` match every path; ``:name`` matches one segment; a ``*``
    segment matches the rest; otherwise the path matches itself and everything
    below it (``/health`` matches ``/health`` and ``/health/db``, not ``/healthz``).
    """
    trimmed = path.rstrip("/")
    if trimmed in ("", "*", "/*"):
        return re.compile(r"^")
    parts: list[str] = []
    for segment in trimmed.split("/")[1:]:
        if segment == "*":
            parts.append("/.*")
        elif segment.startswith(":") and len(segment) > 1:
            parts.append("/[^/]+")
        else:
            parts.append("/" + re.escape(segment))
    return re.compile("^" + "".join(parts) + r"(?:/|$)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    """One auth policy of a plugin.

    Attributes:
        path: the path as given.
        allow: what the policy opens the path to.
        pattern: the compiled matcher.

    """

    path: str
    allow: AuthPolicyAllow
    pattern: re.Pattern[str]

    def matches(self, relative_path: str) -> bool:
        """Return whether the policy covers ``relative_path`` (relative to the plugin)."""
        return self.pattern.match(relative_path or "/") is not None


_USER_OR_SERVICE: tuple[Literal["user"], Literal["service"]] = ("user", "service")


def _relative_path(scope: Scope) -> str:
    path = str(scope["path"])
    root_path = str(scope.get("root_path", ""))
    if root_path and path.startswith(root_path):
        return path[len(root_path) :]
    return path


class CredentialsBarrier:
    """Refuse requests without valid ``user`` or ``service`` credentials.

    Paths covered by an ``"unauthenticated"`` policy pass without credentials;
    paths covered by ``"user-cookie"`` also accept limited user credentials.
    ``disabled=True`` (``backend.auth.dangerouslyDisableDefaultAuthPolicy``) lets
    everything pass.
    """

    def __init__(
        self, plugin_id: str, http_auth: HttpAuthService, *, disabled: bool = False
    ) -> None:
        """Create a barrier for ``plugin_id`` that checks credentials with ``http_auth``."""
        self._plugin_id = plugin_id
        self._http_auth = http_auth
        self._disabled = disabled
        self._policies: list[AuthPolicy] = []

    @property
    def policies(self) -> tuple[AuthPolicy, ...]:
        """The policies added so far."""
        return tuple(self._policies)

    def add_auth_policy(self, *, path: str, allow: AuthPolicyAllow) -> None:
        """Add a policy (see :meth:`HttpRouterService.add_auth_policy`).

        Raises:
            RouterError: ``allow`` is not a known policy, or ``path`` does not start
                with ``/`` (and is not ``*``).

        """
        if allow not in _ALLOWED:
            msg = (
                f"Invalid auth policy for plugin '{self._plugin_id}' at path '{path}': "
                f"allow must be 'unauthenticated' or 'user-cookie', got {allow!r}"
            )
            raise RouterError(msg)
        if not (path.startswith("/") or path == "*"):
            msg = (
                f"Invalid auth policy for plugin '{self._plugin_id}': path {path!r} must "
                "start with '/' (it is relative to the plugin's base URL) or be '*'"
            )
            raise RouterError(msg)
        self._policies.append(AuthPolicy(path=path, allow=allow, pattern=compile_policy_path(path)))

    async def check(self, scope: Scope) -> None:
        """Return if the request may pass; raise the 401/403 error otherwise."""
        limited = self.credentials_needed(_relative_path(scope))
        if limited is not None:
            pending = self.require_credentials(scope, allow_limited_access=limited)
            if pending is not None:
                await pending

    def credentials_needed(self, relative_path: str) -> bool | None:
        """What :meth:`check` asks of a request to ``relative_path`` (relative to the plugin).

        ``None`` when it passes without credentials (the barrier is disabled, or an
        ``"unauthenticated"`` policy covers the path); otherwise whether limited user
        credentials (a ``"user-cookie"`` policy) are accepted.
        """
        if self._disabled:
            return None
        if not self._policies:
            return False
        path = relative_path or "/"
        cookie = False
        for policy in self._policies:  # every request: a loop, not a list and a call each
            if policy.pattern.match(path) is not None:
                if policy.allow == "unauthenticated":
                    return None
                cookie = True  # the only other kind: "user-cookie"
        return cookie

    def require_credentials(
        self, scope: Scope, *, allow_limited_access: bool
    ) -> Awaitable[object] | None:
        """``None`` if the request may pass, else await it: it raises the 401/403 error.

        ``None`` when the HTTP auth service already knows the request's user or service
        credentials without a coroutine (:meth:`CredentialsCheck._known`: a token its
        auth service verified before); otherwise the ``credentials`` call itself, returned
        rather than awaited here: one coroutine less per request either way.
        """
        http_auth = self._http_auth
        if isinstance(http_auth, CredentialsCheck):
            known = http_auth._known(scope, allow_limited_access=allow_limited_access)
            if known is not None and known.allowed_by(_USER_OR_SERVICE):
                return None
        return http_auth.credentials(
            HTTPConnection(scope),
            allow=_USER_OR_SERVICE,
            allow_limited_access=allow_limited_access,
        )
