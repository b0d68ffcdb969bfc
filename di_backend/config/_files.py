"""Reading and parsing configuration files (YAML, or JSON for ``$include``)."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Literal

import yaml

from di_backend.config._values import ConfigPath, format_path
from di_backend.errors import ConfigFileError, describe_error
from di_backend.services import JsonValue

__all__ = ["display_path", "parse_document", "read_text"]

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"

MAX_DOCUMENT_CHARS = 16 * 1024 * 1024
"""The largest configuration document read, in characters."""

MAX_NODES = 1_000_000
"""The most values a document may hold once its aliases are expanded."""

MAX_DEPTH = 100
"""The deepest nesting of mappings and lists a document may have."""

# libyaml's parser where PyYAML was built with it (a 200 000-key file: 11 s pure Python).
if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _ConfigYamlLoader(_BaseLoader):
    """A safe YAML loader that keeps dates as strings (config values are JSON data)."""


_ConfigYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _check_bounds(node: yaml.Node, display: str) -> None:
    """Refuse alias bombs, recursive aliases and deep nesting before anything is built."""
    count = 0
    on_path: set[int] = set()

    def visit(current: yaml.Node, depth: int) -> None:
        nonlocal count
        count += 1
        if count > MAX_NODES:
            msg = (
                f"Failed to parse config file '{display}': it holds more than {MAX_NODES} "
                "values once its aliases are expanded (an alias bomb?)"
            )
            raise ConfigFileError(msg)
        if depth > MAX_DEPTH:
            line = current.start_mark.line + 1
            msg = (
                f"Failed to parse config file '{display}' at line {line}: values are nested "
                f"more than {MAX_DEPTH} levels deep"
            )
            raise ConfigFileError(msg)
        if isinstance(current, yaml.ScalarNode):
            return
        if id(current) in on_path:
            line = current.start_mark.line + 1
            msg = (
                f"Failed to parse config file '{display}' at line {line}: an alias refers to "
                "a value that contains it (a recursive alias)"
            )
            raise ConfigFileError(msg)
        on_path.add(id(current))
        children: list[yaml.Node] = (
            [item for pair in current.value for item in pair]
            if isinstance(current, yaml.MappingNode)
            else list(current.value)
        )
        for child in children:
            visit(child, depth + 1)
        on_path.discard(id(current))

    visit(node, 0)


def _load_yaml(text: str, display: str) -> object:
    if len(text) > MAX_DOCUMENT_CHARS:
        msg = (
            f"Failed to parse config file '{display}': it has {len(text)} characters, more "
            f"than the {MAX_DOCUMENT_CHARS} a configuration file may have"
        )
        raise ConfigFileError(msg)
    loader = _ConfigYamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_bounds(node, display)
        try:
            built: object = loader.construct_document(node)  # pyright: ignore[reportUnknownMemberType]
            return built
        except ValueError as error:  # e.g. an integer beyond Python's digit limit
            msg = f"Failed to parse config file '{display}': {error}"
            raise ConfigFileError(msg) from None
    finally:
        loader.dispose()


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
            raw = _load_yaml(text, display)
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
