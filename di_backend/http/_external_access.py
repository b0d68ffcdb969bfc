"""External access tokens from ``backend.auth.externalAccess`` (the ``static`` type)."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from di_backend.errors import ConfigError
from di_backend.services import ConfigService
from di_backend.services._credentials import ServiceAccessRestrictions

__all__ = ["ExternalAccessEntry", "ExternalTokenHandler"]

_KEY = "backend.auth.externalAccess"
_NON_SPACE = re.compile(r"^\S+$")


@dataclass(frozen=True, slots=True)
class ExternalAccessEntry:
    """One static token.

    Attributes:
        token: the secret (hidden from ``repr``).
        subject: the subject of the service principal the token stands for.
        access_restrictions: the plugins the token may reach, ``None`` for all.

    """

    token: str
    subject: str
    access_restrictions: ServiceAccessRestrictions | None = None

    def __repr__(self) -> str:
        return f"ExternalAccessEntry(subject={self.subject!r}, token=***)"


def _restrictions(entry: ConfigService, where: str) -> ServiceAccessRestrictions | None:
    items = entry.get_optional_config_array("accessRestrictions")
    if items is None:
        return None
    plugins: list[str] = []
    permissions: list[str] = []
    for index, item in enumerate(items):
        plugin = item.get_optional_string("plugin")
        if not plugin:
            msg = (
                f"Invalid config at '{where}.accessRestrictions[{index}].plugin', "
                "expected a plugin id"
            )
            raise ConfigError(msg)
        plugins.append(plugin)
        permission = item.get_optional("permission")
        if isinstance(permission, str):
            permissions.append(permission)
        elif isinstance(permission, list):
            permissions.extend(p for p in permission if isinstance(p, str))
    return ServiceAccessRestrictions(plugin_ids=tuple(plugins), permission_names=tuple(permissions))


def _static_entry(entry: ConfigService, where: str) -> ExternalAccessEntry:
    options = entry.get_config("options")
    token = options.get_string("token")
    subject = options.get_string("subject")
    if not _NON_SPACE.match(token):
        msg = f"Illegal token, must be a set of non-space characters (at '{where}.options.token')"
        raise ConfigError(msg)
    if len(token) < 8:
        msg = f"Illegal token, must be at least 8 characters length (at '{where}.options.token')"
        raise ConfigError(msg)
    if not _NON_SPACE.match(subject):
        msg = (
            f"Illegal subject, must be a set of non-space characters (at '{where}.options.subject')"
        )
        raise ConfigError(msg)
    return ExternalAccessEntry(
        token=token, subject=subject, access_restrictions=_restrictions(entry, where)
    )


class ExternalTokenHandler:
    """Recognise the static external access tokens of the configuration."""

    def __init__(self, entries: list[ExternalAccessEntry]) -> None:
        """Accept the given tokens."""
        self._entries = list(entries)

    @classmethod
    def from_config(cls, config: ConfigService) -> ExternalTokenHandler:
        """Read ``backend.auth.externalAccess``.

        Raises:
            ConfigError: an unknown or unsupported ``type``, or a bad token or subject;
                the message names the config key.

        """
        entries: list[ExternalAccessEntry] = []
        for index, entry in enumerate(config.get_optional_config_array(_KEY) or []):
            where = f"{_KEY}[{index}]"
            kind = entry.get_string("type")
            if kind == "static":
                entries.append(_static_entry(entry, where))
            elif kind in ("legacy", "jwks"):
                msg = (
                    f"Unsupported type '{kind}' in {_KEY} (at '{where}.type'): di_backend "
                    "only implements 'static' external access tokens so far"
                )
                raise ConfigError(msg)
            else:
                msg = (
                    f"Unknown type '{kind}' in {_KEY}, expected one of 'static', 'legacy', "
                    f"'jwks' (at '{where}.type')"
                )
                raise ConfigError(msg)
        return cls(entries)

    def verify(self, token: str) -> ExternalAccessEntry | None:
        """Return the entry whose token is ``token`` (compared in constant time), if any."""
        found: ExternalAccessEntry | None = None
        for entry in self._entries:
            if hmac.compare_digest(entry.token.encode(), token.encode()):
                found = entry
        return found
