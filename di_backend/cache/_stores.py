"""Cache stores: in memory, and Redis/Valkey through ``redis.asyncio``.

A store keeps strings under full keys (``<namespace>:<key>``) with an
optional TTL in milliseconds. The Redis store never raises and never waits
past its timeout: an error reads as a miss and is logged at most once per
``warn_interval``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from di_backend.errors import describe_error
from di_backend.services import LoggerService

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["CacheStore", "MemoryStore", "RedisStore"]


class CacheStore(Protocol):
    """Where a cache keeps its values."""

    async def get(self, key: str) -> str | None:
        """The string at ``key``, or ``None``."""
        ...

    async def set(self, key: str, value: str, ttl_ms: int | None) -> None:
        """Store ``value`` at ``key`` for ``ttl_ms`` milliseconds (``None``: no expiry)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class MemoryStore:
    """One dict per backend; expired entries are dropped on read and by a sweep on write."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[str, float | None]] = {}
        self._writes = 0

    def __len__(self) -> int:
        return len(self._values)

    async def get(self, key: str) -> str | None:
        """The string at ``key`` unless it expired."""
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= self._clock():
            del self._values[key]
            return None
        return value

    async def set(self, key: str, value: str, ttl_ms: int | None) -> None:
        """Store ``value``; every 1000 writes expired entries are swept."""
        expires = None if ttl_ms is None else self._clock() + ttl_ms / 1000.0
        self._values[key] = (value, expires)
        self._writes += 1
        if self._writes % 1000 == 0:
            now = self._clock()
            for name in [k for k, (_, e) in self._values.items() if e is not None and e <= now]:
                del self._values[name]

    async def delete(self, key: str) -> None:
        """Remove ``key``."""
        self._values.pop(key, None)

    async def aclose(self) -> None:
        """Forget every value."""
        self._values.clear()


class RedisStore:
    """A ``redis.asyncio`` client; errors and timeouts read as misses, warned about sparingly."""

    def __init__(
        self,
        url: str,
        *,
        store: str,
        logger: LoggerService,
        timeout: float = 1.0,
        warn_interval: float = 30.0,
    ) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff

        self._client: Redis = Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.01), retries=1),
            decode_responses=True,
        )
        self._store = store
        self._logger = logger
        self._timeout = timeout
        self._warn_interval = warn_interval
        self._last_warning = -float("inf")
        self.failures = 0

    def _failed(self, operation: str, error: BaseException) -> None:
        self.failures += 1
        now = time.monotonic()
        if now - self._last_warning >= self._warn_interval:
            self._last_warning = now
            self._logger.warn(
                f"Cache {operation} failed on the {self._store} store, treated as a miss "
                f"(warned at most every {self._warn_interval:g}s): {describe_error(error)}"
            )

    async def get(self, key: str) -> str | None:
        """The string at ``key``; ``None`` on a miss, an error or a timeout."""
        try:
            value = await self._client.get(key)
        except Exception as error:
            self._failed("get", error)
            return None
        return value if isinstance(value, str) else None

    async def set(self, key: str, value: str, ttl_ms: int | None) -> None:
        """``SET key value [PX ttl]``; errors are logged."""
        try:
            await self._client.set(key, value, px=ttl_ms)
        except Exception as error:
            self._failed("set", error)

    async def delete(self, key: str) -> None:
        """``DEL key``; errors are logged."""
        try:
            await self._client.delete(key)
        except Exception as error:
            self._failed("delete", error)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
