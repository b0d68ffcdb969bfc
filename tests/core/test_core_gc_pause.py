"""While a backend starts, the garbage collector runs less often; afterwards it is as before."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from di_backend import PluginRegistrationPoints, create_backend_plugin, create_specialized_backend
from di_backend._gc_pause import fewer_collections


@pytest.fixture(autouse=True)
def _thresholds() -> Iterator[None]:
    """Each test starts from the default thresholds and leaves them as it found them."""
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


async def test_thresholds_are_raised_during_start_and_restored_after() -> None:
    """Inside ``start()`` the young-generation threshold is 100 000; after it, 700 again."""
    seen: list[tuple[int, ...]] = []

    def register(env: PluginRegistrationPoints) -> None:
        async def init() -> None:
            seen.append(gc.get_threshold())

        env.register_init(init)

    backend = create_specialized_backend()
    backend.add(create_backend_plugin(plugin_id="gc", register=register))
    await backend.start()
    await backend.stop()
    assert seen == [(100_000, 10, 10)]
    assert gc.get_threshold() == (700, 10, 10)


async def test_a_failed_start_restores_the_thresholds_too() -> None:
    """A start that raises leaves the collector's thresholds as they were."""

    def register(env: PluginRegistrationPoints) -> None:
        async def init() -> None:
            raise RuntimeError("boom")

        env.register_init(init)

    backend = create_specialized_backend()
    backend.add(create_backend_plugin(plugin_id="gc", register=register))
    with pytest.raises(Exception, match="boom"):
        await backend.start()
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_starts_restore_once_the_last_ends() -> None:
    """Two pauses that overlap restore the thresholds only when both have ended."""
    first = fewer_collections()
    second = fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == 100_000
    second.__exit__(None, None, None)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_disabled_threshold_is_left_alone() -> None:
    """With a young threshold of 0 (collection off), the pause changes nothing."""
    gc.set_threshold(0, 10, 10)
    with fewer_collections():
        assert gc.get_threshold() == (0, 10, 10)
    assert gc.get_threshold() == (0, 10, 10)
