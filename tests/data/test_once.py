"""``AsyncOnce``, behind the lazily opened engines and task tables."""

from __future__ import annotations

import asyncio

import pytest

from di_backend._once import AsyncOnce


async def test_concurrent_first_calls_share_one_run() -> None:
    """Ten concurrent ``get`` calls run the set-up once and all get its result."""
    runs: list[int] = []

    async def create() -> object:
        runs.append(1)
        await asyncio.sleep(0.01)
        return object()

    once = AsyncOnce(create)
    results = await asyncio.gather(*(once.get() for _ in range(10)))
    assert runs == [1]
    assert all(result is results[0] for result in results)
    assert await once.get() is results[0]


async def test_a_failed_run_is_tried_again_by_the_next_call() -> None:
    """After the set-up raised, the next ``get`` runs it again."""
    attempts: list[int] = []

    async def create() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("down")
        return len(attempts)

    once = AsyncOnce(create)
    with pytest.raises(ConnectionError, match="down"):
        await once.get()
    assert await once.get() == 2


async def test_a_cancelled_caller_does_not_cancel_the_shared_run() -> None:
    """Cancelling one waiting caller leaves the run going for the others."""
    release = asyncio.Event()

    async def create() -> str:
        await release.wait()
        return "ready"

    once = AsyncOnce(create)
    first = asyncio.ensure_future(once.get())
    second = asyncio.ensure_future(once.get())
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == "ready"
    assert first.cancelled()
