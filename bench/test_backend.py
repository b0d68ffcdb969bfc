"""Benchmark: start + stop of a test backend versus calling the same inits by hand.

Run with ``.venv/bin/python bench/test_backend.py [--runs N] [--profile]``.

The backend has one plugin and two modules that together use every mock core
service; both modules use an extension point the plugin registers. The
baseline builds the same fakes and calls the same init functions by hand, in
the same event loop, and runs the lifecycle hooks; the ratio is the cost of the
container, the wiring checks and the test-backend helpers. Target: a median
under 2 ms per start + stop.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from di_backend import (
    ExtensionPoint,
    ModuleRegistrationPoints,
    PluginRegistrationPoints,
    core_services,
    create_backend_module,
    create_backend_plugin,
    create_extension_point,
    inject,
)
from di_backend.services import (
    LifecycleService,
    LoggerService,
    RootConfigService,
    RootInstanceMetadataService,
    RootLifecycleService,
)
from di_backend.testing import (
    MockLifecycle,
    MockLogger,
    MockRootInstanceMetadata,
    MockRootLifecycle,
    mock_services,
    start_test_backend,
)

TARGET_MS = 2.0


class Actions(Protocol):
    def add(self, name: str) -> None: ...


class ActionList:
    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, name: str) -> None:
        self.names.append(name)


actions_ext: ExtensionPoint[Actions] = create_extension_point(id="bench.actions")


def _noop() -> None:
    pass


async def module_init(
    actions: Actions = inject(actions_ext),
    logger: LoggerService = inject(core_services.logger),
    config: RootConfigService = inject(core_services.root_config),
) -> None:
    actions.add(config.get_optional_string("bench.name") or "action")
    logger.debug("module ready")


async def plugin_init(
    *,
    config: RootConfigService = inject(core_services.root_config),
    root_logger: LoggerService = inject(core_services.root_logger),
    logger: LoggerService = inject(core_services.logger),
    root_lifecycle: RootLifecycleService = inject(core_services.root_lifecycle),
    lifecycle: LifecycleService = inject(core_services.lifecycle),
    metadata: RootInstanceMetadataService = inject(core_services.root_instance_metadata),
) -> None:
    plugins = await metadata.get_installed_plugins()
    logger.info(f"{len(plugins)} plugins, limit {config.get_optional_number('bench.limit')}")
    root_logger.debug("plugin ready")
    lifecycle.add_startup_hook(_noop)
    lifecycle.add_shutdown_hook(_noop)
    root_lifecycle.add_shutdown_hook(_noop)


def _register_plugin(env: PluginRegistrationPoints) -> None:
    env.register_extension_point(actions_ext, ActionList())
    env.register_init(plugin_init)


def _register_module(env: ModuleRegistrationPoints) -> None:
    env.register_init(module_init)


plugin = create_backend_plugin(plugin_id="bench", register=_register_plugin)
modules = [
    create_backend_module(plugin_id="bench", module_id=name, register=_register_module)
    for name in ("first", "second")
]


async def run_test_backend() -> None:
    backend = await start_test_backend(features=[plugin, *modules])
    await backend.stop()


async def baseline_run() -> None:
    """The same work without the framework: fakes, inits and hooks called by hand."""
    config = mock_services.root_config()
    root_logger = MockLogger()
    logger = root_logger.child(plugin="bench")
    root_lifecycle = MockRootLifecycle(root_logger)
    lifecycle = MockLifecycle(logger)
    metadata = MockRootInstanceMetadata()
    actions = ActionList()
    for _ in modules:
        await module_init(actions, logger, config)
    await plugin_init(
        config=config,
        root_logger=root_logger,
        logger=logger,
        root_lifecycle=root_lifecycle,
        lifecycle=lifecycle,
        metadata=metadata,
    )
    await lifecycle.startup()
    await root_lifecycle.startup()
    await root_lifecycle.before_shutdown()
    await lifecycle.shutdown()
    await root_lifecycle.shutdown()


async def _median_ms(run: Callable[[], Awaitable[None]], runs: int) -> tuple[float, float]:
    for _ in range(min(100, runs)):  # warm-up: imports, caches, allocator
        await run()
    samples: list[int] = []
    for _ in range(runs):
        begin = time.perf_counter_ns()
        await run()
        samples.append(time.perf_counter_ns() - begin)
    samples.sort()
    return statistics.median(samples) / 1e6, samples[int(len(samples) * 0.9)] / 1e6


async def main(runs: int) -> None:
    backend_ms, backend_p90 = await _median_ms(run_test_backend, runs)
    baseline_ms, baseline_p90 = await _median_ms(baseline_run, runs)
    print(f"runs per measurement:             {runs}")
    print(f"test backend start+stop (median): {backend_ms:8.3f} ms  (p90 {backend_p90:.3f} ms)")
    print(f"inits by hand (median):           {baseline_ms:8.3f} ms  (p90 {baseline_p90:.3f} ms)")
    print(f"ratio:                            {backend_ms / baseline_ms:8.1f}x")
    verdict = "under" if backend_ms < TARGET_MS else "OVER"
    print(f"target {TARGET_MS} ms per start+stop:       {verdict}")


async def _profile(runs: int) -> None:
    for _ in range(50):
        await run_test_backend()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        await run_test_backend()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Test backend start + stop benchmark")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="cProfile the test backend")
    args = parser.parse_args()
    asyncio.run(_profile(args.runs) if args.profile else main(args.runs))
