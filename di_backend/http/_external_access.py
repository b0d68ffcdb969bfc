"""External access tokens from ``backend.auth.externalAccess``: ``static``, ``legacy``, ``jwks``.

As in Backstage: a ``static`` token is a fixed string of at least 8
characters; a ``legacy`` token is an HS256 JWT with ``sub: backstage-server``
signed with a base64 ``secret``; a ``jwks`` token is a JWT verified against a
remote JWKS, optionally limited to ``algorithm``, ``issuer`` and ``audience``,
and its principal is ``external:[<subjectPrefix>:]<sub>``. The old
``backend.auth.keys`` list is read as ``legacy`` entries with the subject
``external:backstage-plugin``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from di_backend.errors import ConfigError
from di_backend.http._jose import (
    TokenRejectedError,
    expiry,
    unverified_claims,
    unverified_header,
    verify_hs256,
    verify_token,
)
from di_backend.services import ConfigService
from di_backend.services._credentials import ServiceAccessRestrictions

if TYPE_CHECKING:
    from di_backend.http._jwks_client import JwksCache

__all__ = ["ExternalAccessEntry", "ExternalTokenHandler"]

_KEY = "backend.auth.externalAccess"
_OLD_KEY = "backend.auth.keys"
_RESTRICTION_KEYS = ("plugin", "permission", "permissionAttribute")
_NON_SPACE = re.compile(r"\S+")  # with fullmatch: a trailing newline is whitespace too


@dataclass(frozen=True, slots=True)
class ExternalAccessEntry:
    """One static token.

    Attributes:
        token: the secret (hidden from ``repr``).
        subject: the subject of the service principal the token stands for.
        access_restrictions: the plugins the token may reach, ``None`` for all.
        expires_at: when a JWT-based token expires; ``None`` for static tokens.

    """

    token: str
    subject: str
    access_restrictions: ServiceAccessRestrictions | None = None
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"ExternalAccessEntry(subject={self.subject!r}, token=***)"


@dataclass(frozen=True, slots=True)
class _LegacyEntry:
    secret: bytes
    subject: str
    access_restrictions: ServiceAccessRestrictions | None

    def __repr__(self) -> str:
        return f"_LegacyEntry(subject={self.subject!r}, secret=***)"


@dataclass(frozen=True, slots=True)
class _JwksEntry:
    url: str
    algorithms: tuple[str, ...] | None
    issuers: tuple[str, ...] | None
    audiences: tuple[str, ...] | None
    subject_prefix: str | None
    access_restrictions: ServiceAccessRestrictions | None


def _restrictions(entry: ConfigService, where: str) -> ServiceAccessRestrictions | None:
    items = entry.get_optional_config_array("accessRestrictions")
    if items is None:
        return None
    plugins: list[str] = []
    permissions: list[str] = []
    for index, item in enumerate(items):
        at = f"{where}.accessRestrictions[{index}]"
        names: list[str] = item.keys()  # a config object, not a dict
        for key in names:
            if key not in _RESTRICTION_KEYS:
                valid = ", ".join(f"'{k}'" for k in _RESTRICTION_KEYS)
                msg = (
                    f"Invalid key '{key}' in 'accessRestrictions' config, expected one of "
                    f"{valid} (at '{at}')"
                )
                raise ConfigError(msg)
        plugin = item.get_optional_string("plugin")
        if not plugin:
            msg = f"Invalid config at '{at}.plugin', expected a plugin id"
            raise ConfigError(msg)
        if plugin in plugins:
            msg = (
                f"Attempted to declare 'accessRestrictions' twice for plugin '{plugin}', "
                f"which is not permitted (at '{at}')"
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
    if not _NON_SPACE.fullmatch(token):
        msg = f"Illegal token, must be a set of non-space characters (at '{where}.options.token')"
        raise ConfigError(msg)
    if len(token) < 8:
        msg = f"Illegal token, must be at least 8 characters length (at '{where}.options.token')"
        raise ConfigError(msg)
    if not _NON_SPACE.fullmatch(subject):
        msg = (
            f"Illegal subject, must be a set of non-space characters (at '{where}.options.subject')"
        )
        raise ConfigError(msg)
    return ExternalAccessEntry(
        token=token, subject=subject, access_restrictions=_restrictions(entry, where)
    )


def _string_or_list(options: ConfigService, key: str) -> tuple[str, ...] | None:
    if not options.has(key):
        return None
    raw = options.get_optional(key)
    values = options.get_string_array(key) if isinstance(raw, list) else [options.get_string(key)]
    split = [part for value in values for part in re.split(r"[ ,]", value) if part]
    return tuple(dict.fromkeys(split)) or None


def _legacy_entry(
    options: ConfigService, where: str, *, subject: str | None, entry: ConfigService
) -> _LegacyEntry:
    secret = options.get_string("secret")
    subject = subject if subject is not None else options.get_string("subject")
    if not _NON_SPACE.fullmatch(secret):
        msg = f"Illegal secret, must be a valid base64 string (at '{where}.secret')"
        raise ConfigError(msg)
    try:
        key = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError) as error:
        msg = f"Illegal secret, must be a valid base64 string (at '{where}.secret')"
        raise ConfigError(msg) from error
    if not _NON_SPACE.fullmatch(subject):
        msg = f"Illegal subject, must be a set of non-space characters (at '{where}.subject')"
        raise ConfigError(msg)
    return _LegacyEntry(
        secret=key, subject=subject, access_restrictions=_restrictions(entry, where)
    )


def _jwks_entry(entry: ConfigService, where: str) -> _JwksEntry:
    options = entry.get_config("options")
    url = options.get_string("url")
    if not _NON_SPACE.fullmatch(url) or not re.match(r"^https?://", url):
        msg = (
            f"Illegal JWKS URL, must be a set of non-space characters starting with "
            f"http:// or https:// (at '{where}.options.url')"
        )
        raise ConfigError(msg)
    return _JwksEntry(
        url=url,
        algorithms=_string_or_list(options, "algorithm"),
        issuers=_string_or_list(options, "issuer"),
        audiences=_string_or_list(options, "audience"),
        subject_prefix=options.get_optional_string("subjectPrefix"),
        access_restrictions=_restrictions(entry, where),
    )


class ExternalTokenHandler:
    """Recognise the external access tokens of the configuration."""

    def __init__(
        self,
        entries: list[ExternalAccessEntry],
        *,
        legacy: list[_LegacyEntry] | None = None,
        jwks: list[_JwksEntry] | None = None,
        jwks_cache: JwksCache | None = None,
    ) -> None:
        """Accept the given static tokens (and legacy and JWKS entries read from config)."""
        self._entries = list(entries)
        self._legacy = list(legacy or [])
        self._jwks = list(jwks or [])
        self._jwks_cache = jwks_cache
        self._owns_cache = False

    @classmethod
    def from_config(
        cls, config: ConfigService, *, jwks_cache: JwksCache | None = None
    ) -> ExternalTokenHandler:
        """Read ``backend.auth.externalAccess`` (and the old ``backend.auth.keys``).

        Raises:
            ConfigError: an unknown ``type``, or a bad token, secret, subject or URL;
                the message names the config key.

        """
        entries: list[ExternalAccessEntry] = []
        legacy: list[_LegacyEntry] = []
        jwks: list[_JwksEntry] = []
        for index, entry in enumerate(config.get_optional_config_array(_KEY) or []):
            where = f"{_KEY}[{index}]"
            kind = entry.get_string("type")
            if kind == "static":
                entries.append(_static_entry(entry, where))
            elif kind == "legacy":
                options = entry.get_config("options")
                legacy.append(_legacy_entry(options, f"{where}.options", subject=None, entry=entry))
            elif kind == "jwks":
                jwks.append(_jwks_entry(entry, where))
            else:
                msg = (
                    f"Unknown type '{kind}' in {_KEY}, expected one of 'static', 'legacy', "
                    f"'jwks' (at '{where}.type')"
                )
                raise ConfigError(msg)
        old = config.get_optional_config_array(_OLD_KEY) or []
        if old:
            warnings.warn(
                f"{_OLD_KEY} is deprecated; use {_KEY} with type 'legacy' instead",
                DeprecationWarning,
                stacklevel=2,
            )
        for index, entry in enumerate(old):
            where = f"{_OLD_KEY}[{index}]"
            legacy.append(
                _legacy_entry(entry, where, subject="external:backstage-plugin", entry=entry)
            )
        handler = cls(entries, legacy=legacy, jwks=jwks, jwks_cache=jwks_cache)
        if jwks and jwks_cache is None:
            from di_backend.http._jwks_client import JwksCache

            handler._jwks_cache = JwksCache()
            handler._owns_cache = True
        return handler

    async def aclose(self) -> None:
        """Close the key cache if this handler made it (not one it was given)."""
        if self._owns_cache and self._jwks_cache is not None:
            await self._jwks_cache.aclose()

    async def verify(self, token: str) -> ExternalAccessEntry | None:
        """Return what ``token`` stands for, or ``None`` when no entry accepts it.

        Static tokens are compared in constant time; legacy and JWKS tokens are
        verified with no clock leeway.
        """
        found: ExternalAccessEntry | None = None
        for entry in self._entries:
            if hmac.compare_digest(entry.token.encode(), token.encode()):
                found = entry
        if found is not None:
            return found
        header = unverified_header(token)
        claims = unverified_claims(token)
        if header is None or claims is None:
            return None
        if header.get("alg") == "HS256" and claims.get("sub") == "backstage-server":
            if "aud" not in claims:
                for legacy in self._legacy:
                    try:
                        verify_hs256(token, legacy.secret)
                    except TokenRejectedError:
                        continue
                    return ExternalAccessEntry(
                        token=token,
                        subject=legacy.subject,
                        access_restrictions=legacy.access_restrictions,
                        expires_at=expiry(claims),
                    )
            return None
        return await self._verify_jwks(token, header, claims)

    async def _verify_jwks(
        self, token: str, header: dict[str, object], claims: dict[str, object]
    ) -> ExternalAccessEntry | None:
        kid = header.get("kid")
        if not self._jwks or self._jwks_cache is None or not isinstance(kid, str) or not kid:
            return None
        for entry in self._jwks:
            try:
                key = await self._jwks_cache.get_key(entry.url, kid)
            except Exception:
                continue
            if key is None or (entry.algorithms and key.algorithm not in entry.algorithms):
                continue
            try:
                verified = verify_token(
                    token,
                    key,
                    issuer=None if entry.issuers is None else list(entry.issuers),
                    audience=None if entry.audiences is None else list(entry.audiences),
                    required=(),
                )
            except TokenRejectedError:
                continue
            sub = verified.get("sub")
            if not isinstance(sub, str) or not sub:
                continue
            prefix = f"external:{entry.subject_prefix}:" if entry.subject_prefix else "external:"
            return ExternalAccessEntry(
                token=token,
                subject=f"{prefix}{sub}",
                access_restrictions=entry.access_restrictions,
                expires_at=expiry(claims),
            )
        return None
