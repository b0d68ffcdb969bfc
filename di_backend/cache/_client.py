"""``CacheClient``: one plugin's view of a store, with Backstage's key and value layout."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import time
from datetime import timedelta

from di_backend.cache._stores import CacheStore
from di_backend.config import to_timedelta
from di_backend.services import CacheService, DurationLike, JsonValue

__all__ = ["CacheClient", "normalize_key"]


_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


@functools.lru_cache(maxsize=4096)
def normalize_key(key: str) -> str:
    """Backstage's key form: base64 of the key, or of its sha256 when that is 200 chars or more."""
    encoded = base64.b64encode(key.encode()).decode()
    if len(encoded) >= 200:
        encoded = base64.b64encode(hashlib.sha256(key.encode()).digest()).decode()
    return encoded


def _ttl_ms(value: DurationLike, what: str) -> int:
    delta = to_timedelta(value, what)
    if delta <= timedelta(0):
        msg = f"{what} must be positive, got {delta}; leave it out to keep the value with no expiry"
        raise ValueError(msg)
    return max(1, round(delta.total_seconds() * 1000))


class CacheClient(CacheService):
    """A plugin's :class:`~di_backend.services.CacheService` over a shared store.

    Values are stored as Keyv does (``{"value": ..., "expires": <epoch ms>}``
    JSON) under ``<namespace>:<normalized key>``, so tools that read
    Backstage's Redis read these too.
    """

    __slots__ = ("_default_ttl_ms", "_namespace", "_store")

    def __init__(self, store: CacheStore, namespace: str, default_ttl: DurationLike | None) -> None:
        self._store = store
        self._namespace = namespace
        self._default_ttl_ms = (
            None if default_ttl is None else _ttl_ms(default_ttl, "default_ttl of the cache")
        )

    def __repr__(self) -> str:
        return f"<CacheClient {self._namespace}>"

    def full_key(self, key: str) -> str:
        """The key as stored: ``<namespace>:<normalized key>``."""
        checked: object = key  # callers without a type checker may pass anything
        if not isinstance(checked, str):
            msg = f"cache keys are strings, got {key!r}"
            raise TypeError(msg)
        return f"{self._namespace}:{normalize_key(key)}"

    async def get(self, key: str) -> JsonValue | None:
        """The value at ``key``, or ``None``."""
        raw = await self._store.get(self.full_key(key))
        if raw is None:
            return None
        try:
            stored: JsonValue = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(stored, dict) or "value" not in stored:
            return None
        expires = stored.get("expires")
        if isinstance(expires, int | float) and expires <= time.time() * 1000:
            return None
        value: JsonValue = stored["value"]
        return value

    async def set(self, key: str, value: JsonValue, *, ttl: DurationLike | None = None) -> None:
        """Store ``value`` at ``key`` for ``ttl`` (or the default TTL)."""
        ttl_ms = self._default_ttl_ms if ttl is None else _ttl_ms(ttl, "ttl of cache.set")
        stored: dict[str, JsonValue] = {"value": value}
        if ttl_ms is not None:
            stored["expires"] = int(time.time() * 1000) + ttl_ms
        try:
            payload = _ENCODER.encode(stored)
        except (TypeError, ValueError) as error:
            msg = f"cache.set({key!r}) needs a JSON value, got {value!r}: {error}"
            raise TypeError(msg) from error
        await self._store.set(self.full_key(key), payload, ttl_ms)

    async def delete(self, key: str) -> None:
        """Remove ``key``."""
        await self._store.delete(self.full_key(key))

    def with_options(self, *, default_ttl: DurationLike | None = None) -> CacheClient:
        """A client on the same store and namespace with another default TTL."""
        client = CacheClient(self._store, self._namespace, None)
        if default_ttl is not None:
            client._default_ttl_ms = _ttl_ms(default_ttl, "default_ttl of with_options")
        else:
            client._default_ttl_ms = self._default_ttl_ms
        return client
