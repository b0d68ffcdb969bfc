"""Loaded configuration sources and how they merge into one reader."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from di_backend.config._reader import ConfigReader
from di_backend.config._tree import secret_strings
from di_backend.config._values import ConfigPath, JsonObject, deep_merge, normalize_object
from di_backend.services import JsonValue

__all__ = ["EMPTY_SOURCE_NAME", "LoadedSource", "merge_sources"]

EMPTY_SOURCE_NAME = "empty-config"
"""The source name of a configuration built from nothing (Backstage's name)."""

_MISSING = object()


@dataclass
class LoadedSource:
    """One source of configuration after its directives and substitutions ran.

    Attributes:
        name: the file's display name, or ``env`` for ``APP_CONFIG_`` variables.
        data: the tree (may contain ``None``, which means "not set").
        origins: where each node came from, by path (e.g. an included file).
        secrets: values that came from the environment or from ``$file``.
        unset: the keys left out because ``${VAR}`` named an unset variable: the
            variable and the file, by path.

    """

    name: str
    data: JsonObject
    origins: dict[ConfigPath, str] = field(default_factory=dict[ConfigPath, str])
    secrets: set[str] = field(default_factory=set[str])
    unset: dict[ConfigPath, tuple[str, str]] = field(
        default_factory=dict[ConfigPath, tuple[str, str]]
    )


def _value_at(tree: JsonValue, path: ConfigPath) -> object:
    node: object = tree
    for part in path:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = cast("JsonObject", node)[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = cast("list[JsonValue]", node)[part]
        else:
            return _MISSING
    return node


def merge_sources(sources: Sequence[LoadedSource]) -> ConfigReader:
    """Merge sources in order (later ones win) into a reader that knows every origin.

    Mappings merge recursively; anything else, lists included, is replaced. A merged
    mapping keeps the origin of the source that first defined it; every other value
    names the source it finally came from.

    Raises:
        ConfigError: a source holds data that is not JSON data.

    """
    data: JsonObject = {}
    origins: dict[ConfigPath, str] = {}
    secrets: set[str] = set()
    unset: dict[ConfigPath, tuple[str, str]] = {}
    for source in sources:
        unset.update(source.unset)
        tree = normalize_object(source.data)
        for path, origin in source.origins.items():
            new = _value_at(tree, path)
            if new is _MISSING:
                continue
            merged = (
                path in origins
                and isinstance(new, dict)
                and isinstance(_value_at(data, path), dict)
                and all(isinstance(part, str) for part in path)
            )
            if not merged:
                origins[path] = origin
        data = deep_merge(data, tree)
        secrets |= source.secrets
    live = {
        path: origin for path, origin in origins.items() if _value_at(data, path) is not _MISSING
    }
    names = tuple(source.name for source in sources) or (EMPTY_SOURCE_NAME,)
    still_unset = {path: why for path, why in unset.items() if _value_at(data, path) is _MISSING}
    return ConfigReader._create(
        data,
        sources=names,
        origins=live,
        secrets=secret_strings(secrets),
        unset=still_unset,
    )
