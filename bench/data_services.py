"""Benchmark: the data services against the raw libraries, timed in the same run.

Run with ``.venv/bin/python bench/data_services.py [--ops N]``. Needs Redis and
PostgreSQL as the test suite finds them (127.0.0.1:6379 and :5432, or the
``BACKSTAGE_TEST_*`` variables, or servers started from the dev wheels).

1. Cache get and set through ``core.cache`` (``CacheClient`` on the Redis store)
   against raw ``redis.asyncio`` GET/SET on the same server: target at least
   0.9 of raw. Plus the memory store's cost per operation against a plain dict.
2. The scheduler's claim-and-release per run on PostgreSQL (two UPDATEs) against
   a bare ``SELECT 1`` round trip on the same engine.
3. What a backend pays for data services its plugins never use: ``import
   di_backend`` and ``di_backend.testing`` (and whether SQLAlchemy or redis were
   imported), and start + stop of a test backend with the data-service factories
   installed against one without them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

from di_backend.testing import ServerInfo, find_postgres, find_redis


async def _per_op(fn: Callable[[], Awaitable[object]], ops: int) -> float:
    """Median over 5 rounds of the seconds per call of ``fn``."""
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(ops):
            await fn()
        rounds.append((time.perf_counter() - started) / ops)
    return statistics.median(rounds)


async def bench_cache(ops: int) -> None:
    """Cache through di_backend against raw redis.asyncio, and the memory store."""
    from redis.asyncio import Redis

    from di_backend.cache import CacheClient, MemoryStore, RedisStore
    from di_backend.testing import MockLogger

    found = find_redis()
    if not isinstance(found, ServerInfo):
        print(f"cache: skipped ({found})")
        return
    raw = Redis.from_url(found.url, decode_responses=True)  # pyright: ignore[reportUnknownMemberType]
    # The same socket timeouts as the cache's store: redis-py then bounds every read.
    bounded = Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
        found.url, decode_responses=True, socket_timeout=1.0, socket_connect_timeout=1.0
    )
    store = RedisStore(found.url, store="redis", logger=MockLogger())
    cache = CacheClient(store, f"bench{uuid.uuid4().hex[:6]}", None)
    value = {"id": 1, "title": "a todo", "tags": ["x", "y"]}
    payload = '{"value":{"id":1,"title":"a todo","tags":["x","y"]}}'
    await raw.set("bench:raw", payload)
    await cache.set("k", value)

    async def raw_get() -> object:
        return await raw.get("bench:raw")

    async def raw_set() -> object:
        return await raw.set("bench:raw", payload)

    async def bounded_get() -> object:
        return await bounded.get("bench:raw")

    async def bounded_set() -> object:
        return await bounded.set("bench:raw", payload)

    async def our_get() -> object:
        return await cache.get("k")

    async def our_set() -> object:
        return await cache.set("k", value)

    results = {}
    cases = {
        "raw get": raw_get,
        "bounded get": bounded_get,
        "cache get": our_get,
        "raw set": raw_set,
        "bounded set": bounded_set,
        "cache set": our_set,
    }
    for _ in range(2):  # interleaved twice, the second pass counts (warm connections)
        for name, fn in cases.items():
            results[name] = await _per_op(fn, ops)
    await raw.delete("bench:raw")
    await raw.aclose()
    await bounded.aclose()
    await store.aclose()
    print(f"cache on {found.source}, {ops} ops x 5 rounds (median):")
    for op in ("get", "set"):
        ours, theirs, bound = (results[f"{k} {op}"] for k in ("cache", "raw", "bounded"))
        print(
            f"  {op}: core.cache {ours * 1e6:6.1f} us; raw redis.asyncio {theirs * 1e6:6.1f} us "
            f"({theirs / ours:.2f} of raw); raw with the same 1 s socket timeouts "
            f"{bound * 1e6:6.1f} us ({bound / ours:.2f} of it; target >= 0.9)"
        )
    memory = CacheClient(MemoryStore(), "bench", None)
    plain: dict[str, object] = {}

    async def mem_set() -> object:
        return await memory.set("k", value)

    async def mem_get() -> object:
        return await memory.get("k")

    async def dict_set() -> object:
        plain["k"] = value
        return None

    mem = (await _per_op(mem_set, ops * 10) + await _per_op(mem_get, ops * 10)) / 2
    base = await _per_op(dict_set, ops * 10)
    print(
        f"  memory store: {mem * 1e6:.2f} us per op "
        f"(a plain dict behind an await: {base * 1e6:.2f} us)"
    )


async def bench_scheduler(ops: int) -> None:
    """Claim and release of one run on PostgreSQL against a SELECT 1 round trip."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from di_backend.database import run_migrations
    from di_backend.scheduler._store import MIGRATIONS, VERSION_TABLE, TaskStore
    from di_backend.testing import TestDatabases

    found = find_postgres()
    if not isinstance(found, ServerInfo):
        print(f"scheduler: skipped ({found})")
        return
    databases = TestDatabases()
    engine = create_async_engine(databases.new_database_url())
    try:
        await run_migrations(engine, MIGRATIONS, version_table=VERSION_TABLE)
        store = TaskStore(engine)
        await store.upsert("t", "{}", 0.0, 0.0)

        async def claim_release() -> object:
            ticket = uuid.uuid4().hex
            assert await store.claim("t", ticket, 60.0)
            return await store.release("t", ticket, keep_next=True)

        async def select_one() -> object:
            async with engine.connect() as connection:
                return (await connection.execute(text("SELECT 1"))).scalar()

        ours = await _per_op(claim_release, ops)
        base = await _per_op(select_one, ops)
        print(
            f"scheduler on {found.source}: claim + release {ours * 1e3:.2f} ms per run, "
            f"SELECT 1 round trip {base * 1e3:.2f} ms ({ours / base:.1f} round trips)"
        )
    finally:
        await engine.dispose()
        databases.drop_all()


def _import_cost() -> None:
    code = (
        "import time, sys; t = time.perf_counter(); import di_backend, di_backend.testing; "
        "d = time.perf_counter() - t; "
        "print(d, sorted(m for m in ('sqlalchemy', 'redis', 'alembic') if m in sys.modules))"
    )
    runs = []
    loaded = ""
    for _ in range(5):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        seconds, loaded = out.stdout.split(" ", 1)
        runs.append(float(seconds))
    print(
        f"import di_backend + di_backend.testing: {statistics.median(runs) * 1e3:.1f} ms, "
        f"data libraries loaded: {loaded.strip()}"
    )


async def bench_unused(rounds: int) -> None:
    """Test backend start + stop with and without the data-service factories installed."""
    from di_backend.testing import mock_services, start_test_backend
    from di_backend.testing._mock_services import default_mock_factories

    data_refs = {mock_services.database.ref, mock_services.cache.ref, mock_services.scheduler.ref}
    without = [f for f in default_mock_factories() if f.service not in data_refs]

    async def with_data() -> object:
        backend = await start_test_backend(features=[])
        return await backend.stop()

    async def without_data() -> object:
        from di_backend import create_specialized_backend

        backend = create_specialized_backend(default_service_factories=without)
        await backend.start()
        return await backend.stop()

    for _ in range(20):  # warm up
        await with_data()
        await without_data()
    ours = await _per_op(with_data, rounds)
    base = await _per_op(without_data, rounds)
    print(
        f"test backend start + stop with data factories {ours * 1e3:.3f} ms, "
        f"specialized backend without them {base * 1e3:.3f} ms"
    )


async def main(ops: int) -> None:
    """Run every part."""
    await bench_cache(ops)
    await bench_scheduler(max(50, ops // 10))
    _import_cost()
    await bench_unused(200)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=2000)
    asyncio.run(main(parser.parse_args().ops))
