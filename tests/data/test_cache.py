"""The cache service on memory and a real Redis: TTLs, isolation, layout, outages."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import shutil
import subprocess
import time
from datetime import timedelta
from typing import Any, Literal

import pytest
from data_support import backend_with, plugin

from di_backend import core_services, inject
from di_backend.cache import CacheManager, RedisStore, normalize_key
from di_backend.config import ConfigReader
from di_backend.errors import ConfigError
from di_backend.services import CacheService, JsonValue
from di_backend.testing import MockLogger, TestCaches, free_port, mock_services

STORES: list[Literal["MEMORY", "REDIS"]] = ["MEMORY", "REDIS"]


def _redis_address(url: str) -> dict[str, Any]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return {"host": parts.hostname or "127.0.0.1", "port": parts.port or 6379}


def _manager(section: dict[str, JsonValue], logger: MockLogger | None = None) -> CacheManager:
    return CacheManager(
        ConfigReader({"backend": {"cache": section}}, "test"), logger or MockLogger()
    )


@pytest.mark.parametrize("store", STORES)
async def test_values_expire_after_their_ttl(test_caches: TestCaches, store: Any) -> None:
    """``set`` with a 200 ms TTL reads back, then reads as a miss after 300 ms."""
    manager = _manager(test_caches.cache_config(store))
    cache = manager.for_plugin("a")
    try:
        await cache.set("k", {"n": [1, 2]}, ttl=timedelta(milliseconds=200))
        assert await cache.get("k") == {"n": [1, 2]}
        await asyncio.sleep(0.3)
        assert await cache.get("k") is None
        await cache.set("forever", "v")
        await cache.delete("forever")
        assert await cache.get("forever") is None
    finally:
        await manager.aclose()


@pytest.mark.parametrize("store", STORES)
async def test_with_options_sets_the_default_ttl(test_caches: TestCaches, store: Any) -> None:
    """``with_options(default_ttl=...)`` applies to ``set`` without a TTL, on the same store."""
    manager = _manager(test_caches.cache_config(store))
    cache = manager.for_plugin("a")
    short = cache.with_options(default_ttl={"milliseconds": 150})
    try:
        await short.set("k", 1)
        assert await cache.get("k") == 1
        await asyncio.sleep(0.25)
        assert await cache.get("k") is None
    finally:
        await manager.aclose()


@pytest.mark.parametrize("store", STORES)
async def test_keys_are_private_to_each_plugin(test_caches: TestCaches, store: Any) -> None:
    """A value written by plugin ``a`` is invisible to plugin ``b`` of the same backend."""
    seen: dict[str, JsonValue] = {}

    async def writer(cache: CacheService = inject(core_services.cache)) -> None:
        await cache.set("key", "from-writer")
        seen["writer"] = await cache.get("key")

    async def reader(cache: CacheService = inject(core_services.cache)) -> None:
        await asyncio.sleep(0.05)
        seen["reader"] = await cache.get("key")

    config = {"backend": {"cache": test_caches.cache_config(store)}}
    backend = await backend_with(
        config,
        plugin("writer", writer),
        plugin("reader", reader),
        extra=[mock_services.cache.factory()],
    )
    await backend.stop()
    assert seen == {"writer": "from-writer", "reader": None}


async def test_redis_layout_is_keyv_compatible(test_caches: TestCaches) -> None:
    """Keys are ``<namespace>:<pluginId>:<base64 key>`` with a PX TTL; long keys are hashed."""
    import redis.asyncio

    manager = _manager(test_caches.cache_config("REDIS"))
    cache = manager.for_plugin("todo")
    raw = redis.asyncio.Redis(decode_responses=True, **_redis_address(test_caches.server().url))
    try:
        await cache.set("hello", {"a": 1}, ttl=timedelta(seconds=30))
        key = f"{test_caches.namespace}:todo:{base64.b64encode(b'hello').decode()}"
        stored = json.loads(str(await raw.get(key)))
        assert stored["value"] == {"a": 1}
        assert abs(stored["expires"] - (time.time() * 1000 + 30_000)) < 5_000
        assert 0 < await raw.pttl(key) <= 30_000
        long_key = "x" * 300
        digest = base64.b64encode(hashlib.sha256(long_key.encode()).digest()).decode()
        assert normalize_key(long_key) == digest
        await cache.set(long_key, "long")
        assert await raw.exists(f"{test_caches.namespace}:todo:{digest}") == 1
    finally:
        await raw.aclose()
        await manager.aclose()


@pytest.mark.parametrize(
    ("ttl", "error", "message"),
    [
        (5000, TypeError, "say the unit, e.g. timedelta(milliseconds=5000)"),
        (timedelta(0), ValueError, "ttl of cache.set must be positive"),
        ({"fortnights": 1}, ValueError, "unknown unit 'fortnights'"),
        ("5s", TypeError, "must be a timedelta or a duration dict"),
    ],
)
async def test_bad_ttls_say_what_to_pass(ttl: Any, error: type[Exception], message: str) -> None:
    """A TTL that is a number, zero, or of an unknown unit is refused with what to write."""
    cache = mock_services.cache()
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        await cache.set("k", 1, ttl=ttl)


async def test_a_value_that_is_not_json_is_a_type_error() -> None:
    """``set`` of a set (not JSON) names the key and the problem."""
    cache = mock_services.cache()
    with pytest.raises(TypeError, match=r"cache.set\('k'\) needs a JSON value"):
        await cache.set("k", {1, 2})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"store": "memcache"},
            "Unknown cache store: memcache (at 'backend.cache.store'); "
            "expected one of 'memory', 'redis', 'valkey'",
        ),
        ({"store": "redis"}, "Missing required config value at 'backend.cache.connection'"),
        (
            {"store": "valkey", "connection": {"url": "redis://x"}},
            "backend.cache.connection object form is only supported "
            "when backend.cache.store is 'redis'",
        ),
        (
            {"store": "redis", "connection": {"host": "x"}},
            "backend.cache.connection object must include a non-empty 'url' string",
        ),
        (
            {"store": "redis", "connection": 5},
            "backend.cache.connection must be a string or object, got int",
        ),
        (
            {"store": "redis", "connection": "http://x"},
            "Invalid config at 'backend.cache.connection': expected a redis:// or rediss:// URL",
        ),
        ({"defaultTtl": "soon"}, "Invalid duration at 'backend.cache.defaultTtl'"),
    ],
)
def test_bad_cache_config_names_the_key(section: dict[str, JsonValue], message: str) -> None:
    """Each malformed ``backend.cache`` is a ConfigError with Backstage's wording."""
    with pytest.raises(ConfigError) as caught:
        _manager(section)
    assert str(caught.value).startswith(message)


async def test_a_server_that_is_down_reads_as_a_miss_quickly_with_one_warning() -> None:
    """Against a closed port ``get`` returns None within the timeout, warned about once."""
    logger = MockLogger()
    store = RedisStore(
        f"redis://127.0.0.1:{free_port()}", store="redis", logger=logger, timeout=0.3
    )
    started = time.monotonic()
    for _ in range(5):
        assert await store.get("k") is None
        await store.set("k", "v", 1000)
    elapsed = time.monotonic() - started
    await store.aclose()
    assert elapsed < 10 * 0.6 + 1
    warnings = logger.messages("warn")
    assert len(warnings) == 1
    assert "Cache get failed on the redis store, treated as a miss" in warnings[0]
    assert store.failures == 10


def _start_redis(port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    assert binary is not None
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.02)
    process.kill()
    pytest.fail(f"redis-server did not start on port {port}")


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server on PATH")
async def test_the_cache_recovers_by_itself_when_the_server_returns() -> None:
    """Stop the server: misses; start it again on the same port: set and get work again."""
    port = free_port()
    server = _start_redis(port)
    manager = _manager({"store": "redis", "connection": f"redis://127.0.0.1:{port}"})
    cache = manager.for_plugin("p")
    try:
        await cache.set("k", "before")
        assert await cache.get("k") == "before"
        server.terminate()
        server.wait(timeout=10)
        started = time.monotonic()
        assert await cache.get("k") is None
        await cache.set("k", "lost")
        assert time.monotonic() - started < 5
        server = _start_redis(port)
        await cache.set("k", "after")
        assert await cache.get("k") == "after"
    finally:
        server.terminate()
        server.wait(timeout=10)
        await manager.aclose()


async def test_the_valkey_store_prefixes_keys_with_its_key_prefix(test_caches: TestCaches) -> None:
    """``store: valkey`` keys are ``<keyPrefix><pluginId>:<base64 key>``, on the same protocol."""
    import redis.asyncio

    prefix = f"{test_caches.namespace}-"
    url = test_caches.server().url.replace("redis://", "valkey://", 1)
    manager = _manager(
        {"store": "valkey", "connection": url, "valkey": {"client": {"keyPrefix": prefix}}}
    )
    cache = manager.for_plugin("todo")
    raw = redis.asyncio.Redis(decode_responses=True, **_redis_address(test_caches.server().url))
    try:
        await cache.set("hello", "valkey")
        key = f"{prefix}todo:{base64.b64encode(b'hello').decode()}"
        assert json.loads(str(await raw.get(key))) == {"value": "valkey"}
        assert await cache.get("hello") == "valkey"
    finally:
        await raw.aclose()
        await manager.aclose()
