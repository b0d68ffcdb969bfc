"""``CacheManager``: reads ``backend.cache``, owns the backend's one store."""

from __future__ import annotations

from datetime import timedelta

from di_backend.cache._client import CacheClient
from di_backend.cache._stores import CacheStore, MemoryStore, RedisStore
from di_backend.config import read_duration_from_config
from di_backend.errors import ConfigError, ConfigKeyError, ConfigTypeError
from di_backend.services import ConfigService, LoggerService

__all__ = ["STORES", "CacheManager"]

_KEY = "backend.cache"
STORES = ("memory", "redis", "valkey")
"""The values ``backend.cache.store`` accepts."""


def _connection_url(config: ConfigService, store: str) -> str:
    key = f"{_KEY}.connection"
    value = config.get_optional(key)
    if value is None:
        msg = (
            f"Missing required config value at '{key}': the {store} store needs a "
            "connection URL such as redis://127.0.0.1:6379"
        )
        raise ConfigKeyError(msg)
    if isinstance(value, dict):
        if store != "redis":
            msg = f"{key} object form is only supported when {_KEY}.store is 'redis'"
            raise ConfigError(msg)
        url = value.get("url")
        if not isinstance(url, str) or not url:
            msg = f"{key} object must include a non-empty 'url' string"
            raise ConfigError(msg)
        value = url
    if not isinstance(value, str):
        msg = f"{key} must be a string or object, got {type(value).__name__}"
        raise ConfigTypeError(msg)
    if not value.startswith(("redis://", "rediss://", "unix://", "valkey://", "valkeys://")):
        msg = (
            f"Invalid config at '{key}': expected a redis:// or rediss:// URL, "
            f"got {value.split('@')[-1]!r}"
        )
        raise ConfigError(msg)
    return "redis" + value[len("valkey") :] if value.startswith("valkey") else value


class CacheManager:
    """The root context of the cache service: one store, one client per plugin."""

    def __init__(self, config: ConfigService, logger: LoggerService) -> None:
        store = config.get_optional_string(f"{_KEY}.store") or "memory"
        if store not in STORES:
            expected = ", ".join(f"'{name}'" for name in STORES)
            msg = f"Unknown cache store: {store} (at '{_KEY}.store'); expected one of {expected}"
            raise ConfigError(msg)
        self.store_name = store
        self.default_ttl = read_duration_from_config(config, f"{_KEY}.defaultTtl")
        if self.default_ttl is not None and self.default_ttl <= timedelta(0):
            msg = f"Invalid config at '{_KEY}.defaultTtl': the TTL must be positive"
            raise ConfigError(msg)
        self._prefix = ""
        self.store: CacheStore
        if store == "memory":
            self.store = MemoryStore()
            return
        url = _connection_url(config, store)
        timeout = read_duration_from_config(
            config, f"{_KEY}.{store}.client.socketTimeout", timedelta(seconds=1)
        )
        if store == "redis":
            namespace = config.get_optional_string(f"{_KEY}.redis.client.namespace")
            separator = config.get_optional_string(f"{_KEY}.redis.client.keyPrefixSeparator")
            if namespace:
                self._prefix = f"{namespace}{':' if separator is None else separator}"
        else:
            self._prefix = config.get_optional_string(f"{_KEY}.valkey.client.keyPrefix") or ""
        self.store = RedisStore(
            url,
            store=store,
            logger=logger,
            timeout=(timeout or timedelta(seconds=1)).total_seconds(),
        )

    def for_plugin(self, plugin_id: str) -> CacheClient:
        """The cache of ``plugin_id``: keys under ``<prefix><plugin_id>:``."""
        return CacheClient(self.store, f"{self._prefix}{plugin_id}", self.default_ttl)

    async def aclose(self) -> None:
        """Close the store's connections."""
        await self.store.aclose()
