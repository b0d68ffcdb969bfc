"""``ObservableConfig``: the root configuration at runtime, which can be updated."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from di_backend.config._reader import ConfigReader
from di_backend.config._values import canonical_json
from di_backend.errors import ConfigError
from di_backend.services import ConfigService, JsonValue

__all__ = ["ObservableConfig"]


class _State:
    """The current reader and the subscribers, shared by a root and its sub-configs."""

    def __init__(
        self,
        reader: ConfigReader,
        on_error: Callable[[BaseException], None] | None,
    ) -> None:
        self.reader = reader
        self.on_error = on_error
        self.subscribers: dict[int, Callable[[], None]] = {}
        self.next_token = 0

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        token = self.next_token
        self.next_token += 1
        self.subscribers[token] = callback

        def unsubscribe() -> None:
            self.subscribers.pop(token, None)

        return unsubscribe

    def notify(self) -> None:
        first_error: BaseException | None = None
        for callback in list(self.subscribers.values()):
            try:
                callback()
            except Exception as error:
                if self.on_error is not None:
                    self.on_error(error)
                elif first_error is None:
                    first_error = error
        if first_error is not None:
            raise first_error


class _ConfigView:
    """A live view of the configuration under ``prefix``; reads the current data."""

    def __init__(self, state: _State, prefix: str) -> None:
        self._state = state
        self._prefix = prefix

    def __repr__(self) -> str:
        """Show the prefix, never the values (they may be secret)."""
        return f"{type(self).__name__}(prefix={self._prefix!r})"

    def _reader(self) -> ConfigReader:
        root = self._state.reader
        if not self._prefix:
            return root
        sub = root.get_optional_config(self._prefix)
        return sub if sub is not None else root._empty_at(self._prefix)

    def _child_prefix(self, key: str) -> str:
        return f"{self._prefix}.{key}" if self._prefix else key

    def get(self, key: str | None = None) -> JsonValue:
        """Return a copy of the value at ``key``; see :meth:`ConfigReader.get`."""
        return self._reader().get(key)

    def get_optional(self, key: str | None = None) -> JsonValue | None:
        """Return a copy of the value at ``key`` or ``None``; see :meth:`ConfigReader.get`."""
        return self._reader().get_optional(key)

    def get_string(self, key: str) -> str:
        """Return the string at ``key``; see :meth:`ConfigReader.get_string`."""
        return self._reader().get_string(key)

    def get_optional_string(self, key: str) -> str | None:
        """Return the string at ``key`` or ``None``; see :meth:`ConfigReader.get_string`."""
        return self._reader().get_optional_string(key)

    def get_number(self, key: str) -> float:
        """Return the number at ``key``; see :meth:`ConfigReader.get_number`."""
        return self._reader().get_number(key)

    def get_optional_number(self, key: str) -> float | None:
        """Return the number at ``key`` or ``None``; see :meth:`ConfigReader.get_number`."""
        return self._reader().get_optional_number(key)

    def get_boolean(self, key: str) -> bool:
        """Return the boolean at ``key``; see :meth:`ConfigReader.get_boolean`."""
        return self._reader().get_boolean(key)

    def get_optional_boolean(self, key: str) -> bool | None:
        """Return the boolean at ``key`` or ``None``; see :meth:`ConfigReader.get_boolean`."""
        return self._reader().get_optional_boolean(key)

    def get_config(self, key: str) -> ConfigService:
        """Return a live sub-config at ``key``; it reads the new data after an update.

        Raises:
            ConfigKeyError: nothing is set at ``key`` now.
            ConfigTypeError: the value is not an object.

        """
        self._reader().get_config(key)
        return _ConfigView(self._state, self._child_prefix(key))

    def get_optional_config(self, key: str) -> ConfigService | None:
        """Return a live sub-config at ``key``, or ``None`` if nothing is set there now.

        If the key disappears in a later update, the sub-config reads as empty.

        Raises:
            ConfigTypeError: the value is not an object.

        """
        if self._reader().get_optional_config(key) is None:
            return None
        return _ConfigView(self._state, self._child_prefix(key))

    def get_config_array(self, key: str) -> list[ConfigService]:
        """Return the objects at ``key`` as sub-configs (snapshots of the current data)."""
        return self._reader().get_config_array(key)

    def get_optional_config_array(self, key: str) -> list[ConfigService] | None:
        """Return the objects at ``key`` as snapshot sub-configs, or ``None``."""
        return self._reader().get_optional_config_array(key)

    def get_string_array(self, key: str) -> list[str]:
        """Return the strings at ``key``; see :meth:`ConfigReader.get_string_array`."""
        return self._reader().get_string_array(key)

    def get_optional_string_array(self, key: str) -> list[str] | None:
        """Return the strings at ``key`` or ``None``; see :meth:`ConfigReader.get_string_array`."""
        return self._reader().get_optional_string_array(key)

    def has(self, key: str) -> bool:
        """Return whether ``key`` holds a value now."""
        return self._reader().has(key)

    def keys(self) -> list[str]:
        """Return the keys at this level now."""
        return self._reader().keys()

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` after every real change of the configuration.

        On a sub-config the callback runs when anything changes, not only the
        sub-tree: compare the values you care about if that matters.

        Returns:
            A function that removes the subscription (calling it twice is harmless).

        """
        return self._state.subscribe(callback)


class ObservableConfig(_ConfigView):
    """The root configuration at runtime: a :class:`ConfigReader` that can be replaced.

    Sub-configs from :meth:`get_config` are live: after :meth:`update` they read the
    new data. Subscribers run only when the data really changed.

    Args:
        data: the initial tree, or a reader (keeps its sources, origins and secrets).
        context: the source name used in errors for trees given as mappings.
        loader: what :meth:`reload` calls to read the configuration again.
        on_error: receives exceptions raised by subscribers. Without it every
            subscriber still runs, then the first exception is re-raised.

    """

    def __init__(
        self,
        data: Mapping[str, JsonValue] | ConfigReader | None = None,
        context: str = "mock-config",
        *,
        loader: Callable[[], ConfigReader] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._context = context
        self._loader = loader
        super().__init__(_State(self._to_reader(data), on_error), "")

    def _to_reader(self, data: Mapping[str, JsonValue] | ConfigReader | None) -> ConfigReader:
        if isinstance(data, ConfigReader):
            return data
        return ConfigReader(data, self._context)

    @property
    def reader(self) -> ConfigReader:
        """The current configuration as a static snapshot."""
        return self._state.reader

    def unset_substitutions(self) -> tuple[tuple[str, str, str], ...]:
        """The current unset substitutions; see :meth:`ConfigReader.unset_substitutions`."""
        return self._state.reader.unset_substitutions()

    def secret_values(self) -> frozenset[str]:
        """Return the current secret values; see :meth:`ConfigReader.secret_values`."""
        return self._state.reader.secret_values()

    def update(self, data: Mapping[str, JsonValue] | ConfigReader) -> bool:
        """Replace the configuration and notify subscribers if the data changed.

        Args:
            data: the new tree, or a reader (keeps its sources, origins and secrets).

        Returns:
            Whether the data changed (and subscribers were called).

        Raises:
            ConfigError: ``data`` is not JSON data.

        """
        reader = self._to_reader(data)
        changed = canonical_json(reader.get()) != canonical_json(self._state.reader.get())
        self._state.reader = reader
        if changed:
            self._state.notify()
        return changed

    def reload(self) -> bool:
        """Read the configuration again with the loader and apply it with :meth:`update`.

        Returns:
            Whether the data changed.

        Raises:
            ConfigError: there is no loader, or loading failed (the old data stays).

        """
        if self._loader is None:
            raise ConfigError("This config has no loader to reload from")
        return self.update(self._loader())
