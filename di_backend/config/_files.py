"""Reading and parsing configuration files (YAML, or JSON for ``$include``)."""

from __future__ import annotations

import json
import os
from typing import Literal

import yaml

from di_backend.config._values import ConfigPath, format_path
from di_backend.errors import ConfigFileError, describe_error
from di_backend.services import JsonValue

__all__ = ["display_path", "parse_document", "read_text"]

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _ConfigYamlLoader(yaml.SafeLoader):
    """A safe YAML loader that keeps dates as strings (config values are JSON data)."""


_ConfigYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def display_path(path: str, base_dir: str) -> str:
    """Name a file for messages: relative to ``base_dir`` when inside it, else absolute."""
    absolute = os.path.abspath(path)
    try:
        inside = os.path.commonpath([base_dir, absolute]) == base_dir
    except ValueError:  # different drives on Windows
        inside = False
    return os.path.relpath(absolute, base_dir) if inside else absolute


def read_text(path: str, display: str) -> str:
    """Read a configuration file as UTF-8 text.

    Raises:
        ConfigFileError: the file does not exist or cannot be read.

    """
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ConfigFileError(f"Config file '{display}' does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigFileError(
            f"Failed to read config file '{display}': {describe_error(error)}"
        ) from None


def parse_document(text: str, display: str, kind: Literal["yaml", "json"] = "yaml") -> JsonValue:
    """Parse a YAML or JSON document into JSON data.

    Dates stay strings; scalar mapping keys become strings the way JSON would write
    them (``1`` → ``"1"``, ``true`` → ``"true"``).

    Args:
        text: the document.
        display: the file name used in error messages.
        kind: ``"yaml"`` (also accepts JSON) or ``"json"``.

    Returns:
        The document's value (``None`` for an empty YAML document).

    Raises:
        ConfigFileError: the document is malformed or holds a non-JSON value; the
            message names the file and, where known, the line.

    """
    if kind == "json":
        try:
            raw: object = json.loads(text)
        except json.JSONDecodeError as error:
            raise _parse_error(display, error.lineno, error.msg) from None
    else:
        try:
            raw = yaml.load(text, Loader=_ConfigYamlLoader)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = None if mark is None else mark.line + 1
            problem = error.problem or error.context or describe_error(error)
            raise _parse_error(display, line, problem) from None
        except yaml.YAMLError as error:
            raise _parse_error(display, None, describe_error(error)) from None
    return _to_json(raw, display, ())


def _parse_error(display: str, line: int | None, problem: str) -> ConfigFileError:
    where = f" at line {line}" if line is not None else ""
    return ConfigFileError(f"Failed to parse config file '{display}'{where}: {problem}")


def _json_key(key: object, display: str, path: ConfigPath) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool) or key is None:
        return json.dumps(key)
    if isinstance(key, int | float):
        return str(key)
    raise _unsupported(display, path, key, "key")


def _to_json(value: object, display: str, path: ConfigPath) -> JsonValue:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list):
        items: list[object] = value  # pyright: ignore[reportUnknownVariableType]
        return [_to_json(item, display, (*path, index)) for index, item in enumerate(items)]
    if isinstance(value, dict):
        mapping: dict[object, object] = value  # pyright: ignore[reportUnknownVariableType]
        out: dict[str, JsonValue] = {}
        for key, item in mapping.items():
            name = _json_key(key, display, path)
            out[name] = _to_json(item, display, (*path, name))
        return out
    raise _unsupported(display, path, value, "value")


def _unsupported(display: str, path: ConfigPath, value: object, what: str) -> ConfigFileError:
    where = f" at '{format_path(path)}'" if path else ""
    return ConfigFileError(
        f"Failed to parse config file '{display}': unsupported {what} of type "
        f"{type(value).__name__}{where}"
    )
