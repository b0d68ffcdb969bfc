"""The cache service: a plugin's private JSON key-value cache (memory, Redis or Valkey).

See ``docs/data-services.md``.
"""

from di_backend.cache._client import CacheClient, normalize_key
from di_backend.cache._factories import cache_factory
from di_backend.cache._manager import STORES, CacheManager
from di_backend.cache._stores import CacheStore, MemoryStore, RedisStore

__all__ = [
    "STORES",
    "CacheClient",
    "CacheManager",
    "CacheStore",
    "MemoryStore",
    "RedisStore",
    "cache_factory",
    "normalize_key",
]
