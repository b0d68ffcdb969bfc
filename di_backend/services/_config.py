"""The configuration service interface (Backstage's ``Config``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeAlias, runtime_checkable

__all__ = ["ConfigService", "JsonValue", "RootConfigService"]

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
"""A value that configuration can hold."""


@runtime_checkable
class ConfigService(Protocol):
    """A read-only view of a configuration tree; keys are dotted paths (``backend.baseUrl``).

    Required getters raise :class:`~di_backend.errors.ConfigKeyError` for a missing key
    and :class:`~di_backend.errors.ConfigTypeError` for a value of the wrong type; both
    messages name the key, the expected and actual type, and where the value came from.
    """

    def get(self, key: str | None = None) -> JsonValue:
        """Return the value at ``key`` (the whole tree without a key); raise if missing."""
        ...

    def get_optional(self, key: str | None = None) -> JsonValue | None:
        """Return the value at ``key`` or ``None``."""
        ...

    def get_string(self, key: str) -> str:
        """Return the string at ``key``."""
        ...

    def get_optional_string(self, key: str) -> str | None:
        """Return the string at ``key`` or ``None``."""
        ...

    def get_number(self, key: str) -> float:
        """Return the number at ``key`` (an ``int`` stays an ``int``)."""
        ...

    def get_optional_number(self, key: str) -> float | None:
        """Return the number at ``key`` or ``None``."""
        ...

    def get_boolean(self, key: str) -> bool:
        """Return the boolean at ``key``."""
        ...

    def get_optional_boolean(self, key: str) -> bool | None:
        """Return the boolean at ``key`` or ``None``."""
        ...

    def get_config(self, key: str) -> ConfigService:
        """Return the sub-tree at ``key`` as a config."""
        ...

    def get_optional_config(self, key: str) -> ConfigService | None:
        """Return the sub-tree at ``key`` or ``None``."""
        ...

    def get_config_array(self, key: str) -> list[ConfigService]:
        """Return the list of objects at ``key`` as configs."""
        ...

    def get_optional_config_array(self, key: str) -> list[ConfigService] | None:
        """Return the list of objects at ``key`` or ``None``."""
        ...

    def get_string_array(self, key: str) -> list[str]:
        """Return the list of strings at ``key``."""
        ...

    def get_optional_string_array(self, key: str) -> list[str] | None:
        """Return the list of strings at ``key`` or ``None``."""
        ...

    def has(self, key: str) -> bool:
        """Return whether ``key`` holds a value."""
        ...

    def keys(self) -> list[str]:
        """Return the keys at this level."""
        ...

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` after the configuration changed; return an unsubscribe function."""
        ...


RootConfigService: TypeAlias = ConfigService
"""The root configuration (``core_services.root_config``)."""
