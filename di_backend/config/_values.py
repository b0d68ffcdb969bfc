"""Helpers for configuration trees: keys, paths, type names, copying and merging.

A configuration tree is a ``dict[str, JsonValue]``. A *path* addresses one node in
it: a tuple of mapping keys (``str``) and list indices (``int``). Paths are shown to
users as ``backend.listen.port`` or ``discovery.endpoints[0].target``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import TypeAlias

from di_backend.errors import ConfigError
from di_backend.services import JsonValue

__all__ = [
    "ConfigPath",
    "JsonObject",
    "canonical_json",
    "deep_merge",
    "format_path",
    "is_object",
    "iter_paths",
    "normalize_object",
    "normalize_value",
    "parse_key",
    "type_name",
]

JsonObject: TypeAlias = dict[str, JsonValue]
"""A configuration mapping."""

ConfigPath: TypeAlias = tuple[str | int, ...]
"""The address of one node in a configuration tree."""

# Backstage's CONFIG_KEY_PART_PATTERN (config and config-loader packages),
# /^[a-z][a-z0-9]*(?:[-_:][a-z0-9]+)*$/i, used with fullmatch: ASCII letters
# only (IGNORECASE would fold the Kelvin sign and the long s into [a-z]) and no
# trailing newline (which Python's $ allows).
KEY_PART_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_:][A-Za-z0-9]+)*")


def is_object(value: object) -> bool:
    """Return whether ``value`` is a configuration mapping (not a list, not a scalar)."""
    return isinstance(value, dict)


def parse_key(key: str) -> tuple[str, ...]:
    """Split a dotted key into its parts, validating each one.

    Args:
        key: a dotted key such as ``backend.listen.port``.

    Returns:
        The parts of the key.

    Raises:
        ConfigError: a part is empty or does not match Backstage's key pattern.

    """
    parts = tuple(key.split("."))
    for part in parts:
        if not KEY_PART_PATTERN.fullmatch(part):
            raise ConfigError(f"Invalid config key '{key}'")
    return parts


def format_path(path: ConfigPath) -> str:
    """Render a path the way users write it: ``a.b[0].c``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (list, "array"),
    (dict, "object"),
    (bool, "boolean"),
    (int, "number"),
    (float, "number"),
)


def type_name(value: JsonValue) -> str:
    """Name the type of a value as Backstage's ``typeOf`` does.

    Returns:
        One of ``null``, ``array``, ``object``, ``boolean``, ``number``, ``nan``,
        ``string`` or ``empty-string``.

    """
    if isinstance(value, str):
        return "string" if value else "empty-string"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    for kind, name in _TYPE_NAMES:
        if isinstance(value, kind):
            return name
    return "null"


def normalize_value(value: JsonValue) -> JsonValue:
    """Return a deep copy of ``value`` with every ``None`` removed.

    ``None`` (YAML ``null``) means "not set": it is dropped from mappings and lists.

    Raises:
        ConfigError: the value is not JSON data (e.g. a set, bytes or a non-string key).

    """
    if isinstance(value, dict):
        return normalize_object(value)
    if isinstance(value, list):
        return [normalize_value(item) for item in value if item is not None]
    if isinstance(value, str | bool | int | float):
        return value
    raise ConfigError(f"Config values must be JSON data, got {type(value).__name__}")


def normalize_object(value: Mapping[str, JsonValue]) -> JsonObject:
    """Return a normalized deep copy of a mapping (see :func:`normalize_value`).

    Raises:
        ConfigError: a key is not a string or a value is not JSON data.

    """
    out: JsonObject = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ConfigError(f"Config keys must be strings, got {type(key).__name__}")
        if item is not None:
            out[key] = normalize_value(item)
    return out


def deep_merge(base: JsonObject, override: JsonObject) -> JsonObject:
    """Merge ``override`` on top of ``base`` without changing either.

    Mappings merge recursively; any other value (lists included) replaces.

    Returns:
        The merged tree. It may share nested containers with the inputs, so treat
        all three as read-only.

    """
    out = dict(base)
    for key, value in override.items():
        current = out.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            out[key] = deep_merge(current, value)
        else:
            out[key] = value
    return out


def iter_paths(value: JsonValue, prefix: ConfigPath = ()) -> Iterator[ConfigPath]:
    """Yield the path of every node below ``value`` (``prefix`` first)."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from iter_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_paths(item, (*prefix, index))


def canonical_json(value: JsonValue) -> str:
    """Serialize ``value`` so that equal trees give equal strings.

    Key order is ignored, but ``1``, ``1.0`` and ``true`` stay different (Python's
    ``==`` would call them equal).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
