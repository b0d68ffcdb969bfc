"""``ConfigReader``: the typed, read-only view of one configuration tree."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping

from di_backend.config._tree import (
    ConfigTree,
    TreeInfo,
    parse_boolean,
    parse_number,
    secret_strings,
)
from di_backend.config._values import ConfigPath, JsonObject, format_path, normalize_object
from di_backend.services import ConfigService, JsonValue

__all__ = ["ConfigReader"]


def _noop() -> None:
    """Do nothing (the unsubscribe function of a static reader)."""


class ConfigReader:
    """A read-only configuration tree with Backstage's typed getters.

    Keys are dotted paths (``backend.listen.port``); each part must match Backstage's
    key pattern (a letter, then letters and digits, with single ``-``, ``_`` or ``:``
    separators). Values are returned as deep copies. ``None`` (YAML ``null``) in the
    data means "not set". A reader never changes; use
    :class:`~di_backend.config.ObservableConfig` for configuration that can be updated.

    Args:
        data: the configuration tree; copied.
        context: the name of where the data came from, used in error messages.
        secrets: values to report from :meth:`secret_values`.

    Raises:
        ConfigError: ``data`` is not JSON data.

    """

    _tree: ConfigTree

    def __init__(
        self,
        data: Mapping[str, JsonValue] | None = None,
        context: str = "mock-config",
        *,
        secrets: Iterable[str] = (),
    ) -> None:
        info = TreeInfo(sources=(context,), secrets=secret_strings(secrets))
        self._tree = ConfigTree(info, normalize_object(data or {}))

    @classmethod
    def _create(
        cls,
        data: JsonObject,
        *,
        sources: tuple[str, ...],
        origins: Mapping[ConfigPath, str],
        secrets: frozenset[str],
        unset: Mapping[ConfigPath, tuple[str, str]] | None = None,
    ) -> ConfigReader:
        """Build a reader over already-normalized data (used by the loader)."""
        return cls._wrap(ConfigTree(TreeInfo(sources, origins, secrets, unset or {}), data))

    @classmethod
    def _wrap(cls, tree: ConfigTree) -> ConfigReader:
        reader = cls.__new__(cls)
        reader._tree = tree
        return reader

    def _empty_at(self, key: str) -> ConfigReader:
        """Return an empty reader whose errors name keys under ``key``."""
        return self._wrap(self._tree.empty_at(key))

    def __repr__(self) -> str:
        """Show the sources and prefix, never the values (they may be secret)."""
        return f"ConfigReader(sources={self.sources!r}, prefix={self.prefix!r})"

    @property
    def sources(self) -> tuple[str, ...]:
        """The names of the files and other sources the tree was built from."""
        return self._tree.info.sources

    @property
    def prefix(self) -> str:
        """The full key of this sub-config (``''`` for the root)."""
        return format_path(self._tree.base)

    def unset_substitutions(self) -> tuple[tuple[str, str, str], ...]:
        """The keys left out because ``${VAR}`` named an unset variable.

        Each is ``(key, variable, file)``, e.g. ``("myapp.token", "MYAPP_TOKEN",
        "app-config.yaml")``; the whole configuration's, also on a sub-config.
        """
        return tuple(
            (format_path(path), variable, file)
            for path, (variable, file) in self._tree.info.unset.items()
        )

    def secret_values(self) -> frozenset[str]:
        """Return the values that came from the environment or from files.

        They are trimmed, and values shorter than two characters are left out. The set
        covers the whole configuration, also when called on a sub-config.
        """
        return self._tree.info.secrets

    # --- getters -------------------------------------------------------------------

    def has(self, key: str) -> bool:
        """Return whether ``key`` holds a value.

        Raises:
            ConfigError: the key is invalid.
            ConfigTypeError: a parent of the key is not an object.

        """
        return self._tree.read(key)[1] is not None

    def keys(self) -> list[str]:
        """Return the keys at this level, in the order they were defined."""
        return list(self._tree.node)

    def get(self, key: str | None = None) -> JsonValue:
        """Return a copy of the value at ``key`` (the whole tree without a key).

        Raises:
            ConfigKeyError: nothing is set at ``key``.
            ConfigTypeError: a parent of the key is not an object.

        """
        value = self.get_optional(key)
        if value is None:
            raise self._tree.missing(key or "")
        return value

    def get_optional(self, key: str | None = None) -> JsonValue | None:
        """Return a copy of the value at ``key`` (the whole tree without a key), or ``None``.

        Raises:
            ConfigTypeError: a parent of the key is not an object.

        """
        value = self._tree.node if key is None else self._tree.read(key)[1]
        return copy.deepcopy(value)

    def get_string(self, key: str) -> str:
        """Return the non-empty string at ``key``.

        Raises:
            ConfigKeyError: nothing is set at ``key``.
            ConfigTypeError: the value is not a string, or is empty.

        """
        value = self.get_optional_string(key)
        if value is None:
            raise self._tree.missing(key)
        return value

    def get_optional_string(self, key: str) -> str | None:
        """Return the non-empty string at ``key``, or ``None``.

        Raises:
            ConfigTypeError: the value is not a string, or is empty.

        """
        path, value = self._tree.read(key)
        if value is None or (isinstance(value, str) and value):
            return value
        raise self._tree.wrong_type(path, value, "string")

    def get_number(self, key: str) -> float:
        """Return the number at ``key``; a numeric string such as ``"7007"`` is converted.

        An ``int`` stays an ``int``; a boolean is not a number.

        Raises:
            ConfigKeyError: nothing is set at ``key``.
            ConfigTypeError: the value is not a number or a numeric string.

        """
        value = self.get_optional_number(key)
        if value is None:
            raise self._tree.missing(key)
        return value

    def get_optional_number(self, key: str) -> float | None:
        """Return the number at ``key`` (see :meth:`get_number`), or ``None``.

        Raises:
            ConfigTypeError: the value is not a number or a numeric string.

        """
        path, value = self._tree.read(key)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if not isinstance(value, str):
            raise self._tree.wrong_type(path, value, "number")
        number = parse_number(value)
        if number is None:
            raise self._tree.not_convertible(path, "number")
        return number

    def get_boolean(self, key: str) -> bool:
        """Return the boolean at ``key``; the strings ``"true"`` and ``"false"`` count.

        Raises:
            ConfigKeyError: nothing is set at ``key``.
            ConfigTypeError: the value is not a boolean or one of those strings.

        """
        value = self.get_optional_boolean(key)
        if value is None:
            raise self._tree.missing(key)
        return value

    def get_optional_boolean(self, key: str) -> bool | None:
        """Return the boolean at ``key`` (see :meth:`get_boolean`), or ``None``.

        Raises:
            ConfigTypeError: the value is not a boolean or ``"true"``/``"false"``.

        """
        path, value = self._tree.read(key)
        if value is None or isinstance(value, bool):
            return value
        if not isinstance(value, str):
            raise self._tree.wrong_type(path, value, "boolean")
        converted = parse_boolean(value)
        if converted is None:
            raise self._tree.not_convertible(path, "boolean")
        return converted

    def get_config(self, key: str) -> ConfigReader:
        """Return the object at ``key`` as a sub-config whose errors show full keys.

        Raises:
            ConfigKeyError: nothing is set at ``key``.
            ConfigTypeError: the value is not an object.

        """
        value = self.get_optional_config(key)
        if value is None:
            raise self._tree.missing(key)
        return value

    def get_optional_config(self, key: str) -> ConfigReader | None:
        """Return the object at ``key`` as a sub-config, or ``None``.

        Raises:
            ConfigTypeError: the value is not an object.

        """
        path, value = self._tree.read(key)
        if value is None:
            return None
        if isinstance(value, dict):
            return self._wrap(self._tree.child(value, path))
        raise self._tree.wrong_type(path, value, "object")

    def get_config_array(self, key: str) -> list[ConfigService]:
        """Return the list of objects at ``key`` as sub-configs (``key[0]``, ...).

        Raises:
            ConfigKeyError: nothing is set at ``key``.
            ConfigTypeError: the value is not a list, or an element is not an object.

        """
        value = self.get_optional_config_array(key)
        if value is None:
            raise self._tree.missing(key)
        return value

    def get_optional_config_array(self, key: str) -> list[ConfigService] | None:
        """Return the list of objects at ``key`` as sub-configs, or ``None``.

        Raises:
            ConfigTypeError: the value is not a list, or an element is not an object.

        """
        path, value = self._tree.read(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self._tree.wrong_type(path, value, "object-array")
        readers: list[ConfigService] = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self._tree.wrong_type((*path, index), item, "object-array")
            readers.append(self._wrap(self._tree.child(item, (*path, index))))
        return readers

    def get_string_array(self, key: str) -> list[str]:
        """Return the list of non-empty strings at ``key``.

        Raises:
            ConfigKeyError: nothing is set at ``key``.
            ConfigTypeError: the value is not a list, or an element is not a
                non-empty string.

        """
        value = self.get_optional_string_array(key)
        if value is None:
            raise self._tree.missing(key)
        return value

    def get_optional_string_array(self, key: str) -> list[str] | None:
        """Return the list of non-empty strings at ``key``, or ``None``.

        Raises:
            ConfigTypeError: the value is not a list, or an element is not a
                non-empty string.

        """
        path, value = self._tree.read(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self._tree.wrong_type(path, value, "string-array")
        strings: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self._tree.wrong_type((*path, index), item, "string-array")
            strings.append(item)
        return strings

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Accept a change callback; a static reader never changes, so it is never called.

        Returns:
            An unsubscribe function (which does nothing).

        """
        del callback
        return _noop
