"""A thousand start/stop cycles leave memory, file descriptors, tasks and threads flat.

Each cycle starts and stops a small backend with the real HTTP stack (a uvicorn
server on a free loopback port), two plugins with routes and lifecycle hooks, and
one configuration object shared by every cycle, as a test suite shares its config.
After a warm-up, the resident memory is sampled every 50 cycles and its slope fitted
by least squares; the slope, and the other counts, are printed with the results.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router

from di_backend import (
    BackendPlugin,
    PluginRegistrationPoints,
    core_services,
    create_backend_plugin,
    create_service_factory,
    create_specialized_backend,
    inject,
)
from di_backend.config import ObservableConfig
from di_backend.http import http_service_factories
from di_backend.services import HttpRouterService, LifecycleService
from di_backend.testing import mock_services, start_test_backend

CYCLES = 1000
WARM_UP = 100
SAMPLE_EVERY = 50
MAX_SLOPE = 1024  # bytes per cycle; a backend kept alive after stop costs about 47 000


@dataclass(frozen=True)
class Sample:
    """The process's resources after one cycle."""

    cycle: int
    rss: int
    fds: int
    tasks: int
    threads: int


def _rss() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _sample(cycle: int) -> Sample:
    gc.collect()
    return Sample(
        cycle,
        _rss(),
        len(os.listdir("/proc/self/fd")),
        len(asyncio.all_tasks()),
        threading.active_count(),
    )


def _slope(samples: list[Sample]) -> float:
    """Least-squares slope of the resident memory, in bytes per cycle."""
    n = len(samples)
    mean_x = sum(s.cycle for s in samples) / n
    mean_y = sum(s.rss for s in samples) / n
    num = sum((s.cycle - mean_x) * (s.rss - mean_y) for s in samples)
    den = sum((s.cycle - mean_x) ** 2 for s in samples)
    return num / den


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


def _plugin(plugin_id: str) -> BackendPlugin:
    def register(env: PluginRegistrationPoints) -> None:
        async def init(
            http_router: HttpRouterService = inject(core_services.http_router),
            lifecycle: LifecycleService = inject(core_services.lifecycle),
        ) -> None:
            http_router.use(Router([Route("/hello", _hello)]))
            lifecycle.add_startup_hook(lambda: None)
            lifecycle.add_shutdown_hook(lambda: None)

        env.register_init(init)

    return create_backend_plugin(plugin_id=plugin_id, register=register)


def _report(what: str, samples: list[Sample], seconds: float) -> str:
    first, last = samples[0], samples[-1]
    return (
        f"{what}: RSS slope {_slope(samples):.0f} B/cycle "
        f"({first.rss / 2**20:.1f} -> {last.rss / 2**20:.1f} MiB), fds {first.fds} -> "
        f"{last.fds}, tasks {first.tasks} -> {last.tasks}, threads {first.threads} -> "
        f"{last.threads}, {seconds:.1f} s"
    )


@pytest.fixture(autouse=True)
def _collect_earlier_garbage() -> None:
    """Collect what earlier tests left, so that their unclosed objects are not blamed here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _assert_flat(samples: list[Sample], report: str) -> None:
    first, last = samples[0], samples[-1]
    assert (last.fds, last.tasks, last.threads) == (first.fds, first.tasks, first.threads), report
    assert _slope(samples) < MAX_SLOPE, report


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux's /proc")
async def test_a_thousand_cycles_of_a_backend_with_http_stay_flat(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """RSS grows by less than 1 KiB a cycle; descriptors, tasks and threads do not grow."""
    config = ObservableConfig({"backend": {"listen": {"host": "127.0.0.1", "port": 0}}})
    defaults = [
        *http_service_factories,
        create_service_factory(core_services.root_config, lambda: config),
        mock_services.root_logger.factory(),
        mock_services.database.factory(),
    ]
    samples: list[Sample] = []
    began = time.monotonic()
    for cycle in range(CYCLES):
        backend = create_specialized_backend(default_service_factories=defaults)
        backend.add(_plugin("alpha"))
        backend.add(_plugin("beta"))
        await backend.start()
        await backend.stop()
        if cycle >= WARM_UP and cycle % SAMPLE_EVERY == 0:
            samples.append(_sample(cycle))
    report = _report(f"{CYCLES} start/stop cycles", samples, time.monotonic() - began)
    with capsys.disabled():
        print(f"\n{report}")
    _assert_flat(samples, report)


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux's /proc")
async def test_test_backends_started_again_and_again_stay_flat(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``start_test_backend`` in a loop, as a test suite runs it, leaks nothing either."""
    samples: list[Sample] = []
    began = time.monotonic()
    for cycle in range(400):
        backend = await start_test_backend(features=[_plugin("alpha")])
        await backend.stop()
        if cycle >= WARM_UP and cycle % SAMPLE_EVERY == 0:
            samples.append(_sample(cycle))
    report = _report("400 test backends", samples, time.monotonic() - began)
    with capsys.disabled():
        print(f"\n{report}")
    _assert_flat(samples, report)
