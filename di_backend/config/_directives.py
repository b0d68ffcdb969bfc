"""Reading one config file: ``${VAR}`` substitution and ``$env``/``$file``/``$include``."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from di_backend.config._files import parse_document, read_text
from di_backend.config._source import LoadedSource
from di_backend.config._substitution import substitute
from di_backend.config._values import ConfigPath, JsonObject, format_path, type_name
from di_backend.errors import ConfigFileError, describe_error
from di_backend.services import JsonValue

__all__ = ["load_config_file"]

_INCLUDE_KINDS = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


@dataclass(frozen=True)
class _File:
    """The file whose values are being transformed."""

    display: str
    directory: str
    chain: tuple[str, ...]  # real paths of the files that include this one, and itself


class _Transformer:
    def __init__(self, source: LoadedSource, env: Mapping[str, str], display: Callable[[str], str]):
        self.source = source
        self.env = env
        self.display = display

    def error(self, path: ConfigPath, file: _File, reason: str) -> ConfigFileError:
        where = f"'{format_path(path)}'" if path else "the top level"
        return ConfigFileError(f"Error at {where} in '{file.display}', {reason}")

    def substitute(self, value: str, path: ConfigPath, file: _File) -> str | None:
        """``${VAR}`` in one string; an unset variable leaves the key out (and is noted)."""
        result = substitute(value, self.env)
        self.source.secrets.update(result.secrets)
        if result.unset is not None:
            self.source.unset[path] = (result.unset, file.display)
        return result.value

    def transform(self, value: JsonValue, path: ConfigPath, file: _File) -> JsonValue:
        """Return the transformed value, or ``None`` when the key should be dropped."""
        if value is None:
            return None
        if isinstance(value, str):
            out: JsonValue = self.substitute(value, path, file)
        elif isinstance(value, list):
            items: list[JsonValue] = []
            for item in value:
                transformed = self.transform(item, (*path, len(items)), file)
                if transformed is not None:
                    items.append(transformed)
            out = items
        elif isinstance(value, dict):
            # A key like `${X}` would read as a `$` directive; keys are never substituted.
            substituted = next((key for key in value if key.startswith("${")), None)
            if substituted is not None:
                reason = (
                    f"substitution is not allowed in keys, got the key '{substituted}'; "
                    "only values can use ${...}"
                )
                raise self.error(path, file, reason)
            if any(key.startswith("$") for key in value):
                return self.directive(value, path, file)
            mapping: JsonObject = {}
            for key, item in value.items():
                transformed = self.transform(item, (*path, key), file)
                if transformed is not None:
                    mapping[key] = transformed
            out = mapping
        else:
            out = value
        if out is not None:
            self.source.origins[path] = file.display
        return out

    def directive(self, value: JsonObject, path: ConfigPath, file: _File) -> JsonValue:
        name = next(key for key in value if key.startswith("$"))
        if len(value) != 1:
            raise self.error(path, file, f"{name} should not have adjacent keys")
        argument = value[name]
        if not isinstance(argument, str):
            reason = f"{name} value is not a string, got {type_name(argument)}"
            raise self.error(path, file, reason)
        if name == "$env":
            result = self.env.get(argument)
            if result is not None:
                self.source.secrets.add(result)
                self.source.origins[path] = file.display
            return result
        if name == "$file":
            target = self.resolve(name, argument, path, file)
            text = self.read(name, target, argument, path, file)
            self.source.secrets.add(text)
            self.source.origins[path] = file.display
            return text
        if name == "$include":
            return self.include(argument, path, file)
        raise self.error(path, file, f"unknown directive {name}")

    def resolve(self, name: str, argument: str, path: ConfigPath, file: _File) -> str:
        """Resolve a ``$file``/``$include`` path; refuse one outside the file's directory."""
        if not argument:
            raise self.error(path, file, f"{name} path is empty")
        target = os.path.normpath(os.path.join(file.directory, argument))
        base = os.path.realpath(file.directory)
        try:
            inside = os.path.commonpath([base, os.path.realpath(target)]) == base
        except ValueError:  # different drives on Windows
            inside = False
        if not inside:
            reason = f"{name} refers to a path outside its directory: '{argument}'"
            raise self.error(path, file, reason)
        return target

    def read(self, name: str, target: str, argument: str, path: ConfigPath, file: _File) -> str:
        try:
            with open(target, encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            reason = f"{name} refers to a file that does not exist: '{argument}'"
            raise self.error(path, file, reason) from None
        except (OSError, UnicodeDecodeError) as error:
            reason = f"{name} failed to read '{argument}', {describe_error(error)}"
            raise self.error(path, file, reason) from None

    def include(self, argument: str, path: ConfigPath, file: _File) -> JsonValue:
        file_part, _, data_path = argument.partition("#")
        kind = _INCLUDE_KINDS.get(os.path.splitext(file_part)[1].lower())
        if kind is None:
            reason = f"no configuration parser available for included file '{file_part}'"
            raise self.error(path, file, reason)
        target = self.resolve("$include", file_part, path, file)
        real = os.path.realpath(target)
        if real in file.chain:
            raise self.error(path, file, f"$include of '{file_part}' creates a cycle")
        text = self.read("$include", target, file_part, path, file)
        included = _File(self.display(target), os.path.dirname(target), (*file.chain, real))
        value = parse_document(text, included.display, "json" if kind == "json" else "yaml")
        parts = data_path.split(".") if data_path else []
        for index, part in enumerate(parts):
            if value is None:
                break
            if not isinstance(value, dict):
                where = ".".join(parts[:index])
                reason = f"value at '{where}' in included file '{file_part}' is not an object"
                raise self.error(path, file, reason)
            value = value.get(part)
        return self.transform(value, path, included)


def load_config_file(
    path: str, env: Mapping[str, str], display: Callable[[str], str]
) -> LoadedSource:
    """Read, parse and transform one config file.

    Args:
        path: the file's absolute path.
        env: the environment for ``${VAR}`` and ``$env``.
        display: names a file for messages and origins.

    Returns:
        The file's tree with its origins and secrets.

    Raises:
        ConfigFileError: the file is missing, unreadable or malformed, its top level
            is not a mapping, or a directive fails.

    """
    name = display(path)
    source = LoadedSource(name, {})
    document = parse_document(read_text(path, name), name)
    if document is None:
        return source
    if not isinstance(document, dict):
        raise ConfigFileError(
            f"Config file '{name}' must contain a mapping at the top level, "
            f"got {type_name(document)}"
        )
    file = _File(name, os.path.dirname(path), (os.path.realpath(path),))
    result = _Transformer(source, env, display).transform(document, (), file)
    if not isinstance(result, dict):
        raise ConfigFileError(
            f"Config file '{name}' must contain a mapping at the top level, got {type_name(result)}"
        )
    source.data = result
    return source
