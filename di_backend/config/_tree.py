"""``ConfigTree``: lookup, origins and error messages behind :class:`ConfigReader`."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from di_backend.config._values import ConfigPath, JsonObject, format_path, parse_key, type_name
from di_backend.errors import ConfigKeyError, ConfigTypeError
from di_backend.services import JsonValue

__all__ = ["ConfigTree", "TreeInfo", "parse_boolean", "parse_number", "secret_strings"]

_INT_PATTERN = re.compile(r"^[+-]?\d+$")
_FLOAT_PATTERN = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_BOOLEANS = {"true": True, "false": False}


def secret_strings(values: Iterable[str]) -> frozenset[str]:
    """Trim secret values and keep those of length >= 2 (Backstage skips shorter ones)."""
    return frozenset(s for s in (v.strip() for v in values) if len(s) >= 2)


def parse_number(text: str) -> float | None:
    """Convert a decimal string (``"7007"``, ``" 1.5 "``) to a number, or ``None``."""
    text = text.strip()
    if _INT_PATTERN.match(text):
        return int(text)
    if _FLOAT_PATTERN.match(text) and math.isfinite(number := float(text)):
        return number
    return None


def parse_boolean(text: str) -> bool | None:
    """Convert ``"true"``/``"false"`` (any case, trimmed) to a boolean, or ``None``."""
    return _BOOLEANS.get(text.strip().lower())


@dataclass(frozen=True)
class TreeInfo:
    """What every sub-tree cut from one configuration shares.

    Attributes:
        sources: the names of the sources, for "missing" messages.
        origins: the source of each node by path, for "wrong type" messages.
        secrets: the secret values of the whole configuration.
        unset: keys left out because ``${VAR}`` named an unset variable (the
            variable and the file), for "missing" messages.

    """

    sources: tuple[str, ...]
    origins: Mapping[ConfigPath, str] = field(default_factory=dict[ConfigPath, str])
    secrets: frozenset[str] = frozenset()
    unset: Mapping[ConfigPath, tuple[str, str]] = field(
        default_factory=dict[ConfigPath, tuple[str, str]]
    )


@dataclass(frozen=True)
class ConfigTree:
    """One mapping of a configuration, where it sits (``base``) and what it shares.

    Attributes:
        info: the shared sources, origins and secrets.
        node: the mapping (never mutated).
        base: the path of ``node`` from the root.

    """

    info: TreeInfo
    node: JsonObject
    base: ConfigPath = ()

    def child(self, node: JsonObject, path: ConfigPath) -> ConfigTree:
        """Return the tree of the mapping ``node`` found at ``path``."""
        return ConfigTree(self.info, node, path)

    def empty_at(self, key: str) -> ConfigTree:
        """Return an empty tree whose errors name keys under ``key``."""
        return ConfigTree(self.info, {}, (*self.base, *parse_key(key)))

    def origin(self, path: ConfigPath) -> str:
        """Name the source of the node at ``path`` (or of its nearest ancestor)."""
        origins = self.info.origins
        for end in range(len(path), -1, -1):
            found = origins.get(path[:end])
            if found is not None:
                return found
        return ", ".join(self.info.sources)

    def missing(self, key: str) -> ConfigKeyError:
        """Build the error for a required ``key`` that holds nothing."""
        where = ", ".join(f"'{source}'" for source in self.info.sources)
        path = (*self.base, *parse_key(key))
        full = format_path(path)
        unset = self.info.unset.get(path)
        if unset is not None:
            variable, file = unset
            return ConfigKeyError(
                f"Missing required config value at '{full}' in {where}: '{file}' sets it "
                f"to ${{{variable}}}, and the environment variable {variable} is not set"
            )
        return ConfigKeyError(f"Missing required config value at '{full}' in {where}")

    def wrong_type(self, path: ConfigPath, value: JsonValue, expected: str) -> ConfigTypeError:
        """Build Backstage's "Invalid type in config" error for the value at ``path``."""
        return ConfigTypeError(
            f"Invalid type in config for key '{format_path(path)}' in "
            f"'{self.origin(path)}', got {type_name(value)}, wanted {expected}"
        )

    def not_convertible(self, path: ConfigPath, expected: str) -> ConfigTypeError:
        """Build Backstage's "Unable to convert" error for the string at ``path``."""
        return ConfigTypeError(
            f"Unable to convert config value for key '{format_path(path)}' in "
            f"'{self.origin(path)}' to a {expected}"
        )

    def read(self, key: str) -> tuple[ConfigPath, JsonValue]:
        """Return the full path of ``key`` and its value (``None`` when missing).

        Raises:
            ConfigError: the key is invalid.
            ConfigTypeError: a parent of the key is not an object.

        """
        parts = parse_key(key)
        value: JsonValue = self.node
        for index, part in enumerate(parts):
            if value is None:
                break
            if not isinstance(value, dict):
                raise self.wrong_type((*self.base, *parts[:index]), value, "object")
            value = value.get(part)
        return (*self.base, *parts), value
