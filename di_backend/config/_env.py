"""``APP_CONFIG_<path>`` environment overrides (Backstage's ``readEnvConfig``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import NoReturn

from di_backend.config._files import MAX_DEPTH
from di_backend.config._source import LoadedSource
from di_backend.config._values import KEY_PART_PATTERN, iter_paths
from di_backend.errors import ConfigError, describe_error
from di_backend.services import JsonValue

__all__ = ["ENV_PREFIX", "ENV_SOURCE_NAME", "read_env_config"]

ENV_PREFIX = "APP_CONFIG_"
"""Environment variables with this prefix override configuration keys."""

ENV_SOURCE_NAME = "env"
"""The source name of the environment overrides in messages."""


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _parse_value(text: str) -> JsonValue:
    """Parse ``text`` as JSON, falling back to the raw string (``NaN`` stays a string)."""
    try:
        value: JsonValue = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return text
    return value


def _check_depth(value: JsonValue, name: str, depth: int = 0) -> None:
    """Refuse values nested deeper than the config files may be."""
    if depth > MAX_DEPTH:
        raise RecursionError(name)
    if isinstance(value, list):
        for item in value:
            _check_depth(item, name, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _check_depth(item, name, depth + 1)


def _strings(value: JsonValue) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []


def read_env_config(env: Mapping[str, str]) -> LoadedSource | None:
    """Build the configuration that ``APP_CONFIG_*`` variables describe.

    ``APP_CONFIG_backend_listen_port=8080`` sets ``backend.listen.port`` to ``8080``:
    the name after the prefix is split on ``_`` and each part must be a valid key
    part. The value is parsed as JSON if it parses, else kept as a string; JSON
    ``null`` is refused; empty values are skipped. Variables are read in the order of
    ``env``. Every string in a value is a secret; each value's origin is
    ``env var <NAME>``.

    Args:
        env: the environment.

    Returns:
        The overrides, or ``None`` when no variable applies.

    Raises:
        ConfigError: with Backstage's messages: ``Invalid env config key '<key>'``,
            ``Could not nest config for key '<key>' under existing value '<sub>'``,
            ``Refusing to override existing config at key '<key>'`` or
            ``Failed to parse JSON-serialized config value for key '<key>', <err>``.

    """
    source: LoadedSource | None = None
    for name, text in env.items():
        if not text or not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :]
        parts = key.split("_")
        if source is None:
            source = LoadedSource(ENV_SOURCE_NAME, {})
        node = source.data
        for index, part in enumerate(parts):
            if not KEY_PART_PATTERN.fullmatch(part):
                raise ConfigError(f"Invalid env config key '{key}'")
            if index < len(parts) - 1:
                if part not in node:
                    source.origins[tuple(parts[: index + 1])] = f"env var {name}"
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    sub_key = "_".join(parts[: index + 1])
                    raise ConfigError(
                        f"Could not nest config for key '{key}' under existing value '{sub_key}'"
                    )
                node = child
                continue
            if part in node:
                raise ConfigError(f"Refusing to override existing config at key '{key}'")
            try:
                value = _parse_value(text)
                _check_depth(value, name)
            except RecursionError:
                msg = (
                    f"Failed to parse JSON-serialized config value for key '{key}' "
                    f"(env var {name}): it is nested more than {MAX_DEPTH} levels deep"
                )
                raise ConfigError(msg) from None
            if value is None:
                cause = describe_error(ValueError("value may not be null"))
                raise ConfigError(
                    f"Failed to parse JSON-serialized config value for key '{key}', {cause}"
                )
            node[part] = value
            origin = f"env var {name}"
            for path in iter_paths(value, tuple(parts)):
                source.origins[path] = origin
            source.secrets.update(_strings(value))
    return source
