"""``CacheService``: a plugin's private key-value cache (``core.cache``)."""

from __future__ import annotations

from typing import Protocol

from di_backend.services._config import JsonValue
from di_backend.services._durations import DurationLike

__all__ = ["CacheService"]


class CacheService(Protocol):
    """A plugin's private key-value cache of JSON values (``core.cache``).

    Keys are private to the plugin: another plugin's ``get`` of the same key
    never sees the value. A store that is down reads as a miss (``None``),
    ``set`` and ``delete`` then do nothing, and no call waits longer than
    the store's timeout. Storing JSON ``null`` reads back as ``None``, like a miss.
    """

    async def get(self, key: str) -> JsonValue | None:
        """Return the value stored at ``key``, or ``None`` when it is missing or expired."""
        ...

    async def set(self, key: str, value: JsonValue, *, ttl: DurationLike | None = None) -> None:
        """Store ``value`` at ``key`` for ``ttl`` (default: the client's, then the backend's).

        Raises:
            TypeError: ``ttl`` is a plain number (say ``timedelta(seconds=30)``).
            ValueError: ``ttl`` is zero or negative.
        """
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``."""
        ...

    def with_options(self, *, default_ttl: DurationLike | None = None) -> CacheService:
        """Return a client on the same store whose ``set`` defaults to ``default_ttl``."""
        ...
