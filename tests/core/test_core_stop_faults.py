"""Stopping survives what goes wrong while stopping: hung hooks and repeated cancellation.

A shutdown hook that never returns is cancelled after
``backend.lifecycle.shutdownHookTimeout`` and named in the log; a cancelled ``stop()``
leaves the stop running, so the next ``stop()`` returns only once everything stopped;
and a ``start()`` cancelled again while it cleans up still releases its port.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from di_backend import (
    Backend,
    PluginRegistrationPoints,
    ServiceRef,
    core_services,
    create_backend_plugin,
    create_service_factory,
    create_service_ref,
    create_specialized_backend,
    inject,
)
from di_backend.config import ObservableConfig
from di_backend.defaults import lifecycle_factory, logger_factory, root_lifecycle_factory
from di_backend.http import DefaultRootHttpRouter, http_service_factories
from di_backend.services import JsonValue, LifecycleService, RootHttpRouterService
from di_backend.testing import MockLogger, mock_services

LOOPBACK = "127.0.0.1"


@dataclass
class Seen:
    """What the plugin under test saw and did."""

    ports: list[int] = field(default_factory=list[int])
    events: list[str] = field(default_factory=list[str])
    init_entered: asyncio.Event = field(default_factory=asyncio.Event)


def _plugin(seen: Seen, *, hang_on_stop: bool = False, slow_stop: float = 0.0,
            hang_in_init: bool = False) -> object:  # fmt: skip
    def register(env: PluginRegistrationPoints) -> None:
        async def init(
            lifecycle: LifecycleService = inject(core_services.lifecycle),
            root_router: RootHttpRouterService = inject(core_services.root_http_router),
        ) -> None:
            assert isinstance(root_router, DefaultRootHttpRouter)
            seen.ports.append(root_router.listen_address()[1])

            async def hang() -> None:
                seen.events.append("hang began")
                await asyncio.Event().wait()

            async def slow() -> None:
                await asyncio.sleep(slow_stop)
                seen.events.append("slow hook done")

            def quick() -> None:
                seen.events.append("quick hook done")

            if hang_on_stop:
                lifecycle.add_shutdown_hook(hang)
            lifecycle.add_shutdown_hook(slow)
            lifecycle.add_shutdown_hook(quick)
            if hang_in_init:
                seen.init_entered.set()
                await asyncio.Event().wait()

        env.register_init(init)

    return create_backend_plugin(plugin_id="todo", register=register)


def _backend(
    seen: Seen, logger: MockLogger, config: dict[str, JsonValue], **plugin: object
) -> Backend:
    data: dict[str, JsonValue] = {"backend": {"listen": {"host": LOOPBACK, "port": 0}, **config}}
    observable = ObservableConfig(data)
    backend = create_specialized_backend(
        default_service_factories=[
            *http_service_factories,
            create_service_factory(core_services.root_config, lambda: observable),
            create_service_factory(core_services.root_logger, lambda: logger),
            logger_factory,
            root_lifecycle_factory,
            lifecycle_factory,
            mock_services.database.factory(),
        ]
    )
    backend.add(_plugin(seen, **plugin))  # type: ignore[arg-type]
    return backend


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((LOOPBACK, port)) != 0


async def test_a_hung_shutdown_hook_is_cancelled_and_named() -> None:
    """A hook that never returns is cut off after the configured timeout; the rest stop."""
    seen, logger = Seen(), MockLogger()
    config: dict[str, JsonValue] = {"lifecycle": {"shutdownHookTimeout": "300ms"}}
    backend = _backend(seen, logger, config, hang_on_stop=True)
    await backend.start()
    began = time.monotonic()
    await asyncio.wait_for(backend.stop(), 10)
    assert time.monotonic() - began < 5
    assert "quick hook done" in seen.events
    assert _port_is_free(seen.ports[0])
    errors = [r.message for r in logger.records if r.level == "error"]
    assert any(
        message.startswith("Plugin shutdown hook ")
        and ".hang of plugin 'todo' did not finish within 0.3s "
        "(backend.lifecycle.shutdownHookTimeout); it was cancelled"
        in message
        for message in errors
    ), errors


async def test_a_cancelled_stop_keeps_stopping_and_the_next_stop_waits_for_it() -> None:
    """Cancelling ``stop()`` cancels the wait only; a second ``stop()`` returns when all stopped."""
    seen, logger = Seen(), MockLogger()
    backend = _backend(seen, logger, {}, slow_stop=0.5)
    await backend.start()
    first = asyncio.create_task(backend.stop())
    await asyncio.sleep(0.1)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    assert "slow hook done" not in seen.events
    await asyncio.wait_for(backend.stop(), 10)
    assert "slow hook done" in seen.events
    assert _port_is_free(seen.ports[0])


async def test_a_start_cancelled_twice_still_cleans_up() -> None:
    """A second cancellation while a cancelled start cleans up does not stop the clean-up."""
    seen, logger = Seen(), MockLogger()
    backend = _backend(seen, logger, {}, slow_stop=0.5, hang_in_init=True)
    start = asyncio.create_task(backend.start())
    await asyncio.wait_for(seen.init_entered.wait(), 10)
    start.cancel()
    await asyncio.sleep(0.1)  # the start is now cleaning up (the slow hook runs)
    start.cancel()
    results = await asyncio.gather(start, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert "slow hook done" in seen.events
    assert _port_is_free(seen.ports[0])
    await asyncio.wait_for(backend.stop(), 10)  # nothing left; returns at once


async def test_a_hung_teardown_is_cancelled_and_named() -> None:
    """A generator factory whose clean-up never ends is cut off after the hook timeout."""
    seen, logger = Seen(), MockLogger()
    clock_ref: ServiceRef[float] = create_service_ref(id="todo.clock", scope="root")

    async def make_clock() -> AsyncIterator[float]:
        yield 0.0
        await asyncio.Event().wait()  # the clean-up hangs

    config: dict[str, JsonValue] = {"lifecycle": {"shutdownHookTimeout": "300ms"}}
    backend = _backend(seen, logger, config)
    backend.add(create_service_factory(clock_ref, make_clock))
    await backend.start()
    began = time.monotonic()
    await asyncio.wait_for(backend.stop(), 10)
    assert time.monotonic() - began < 5
    errors = [r.message for r in logger.records if r.level == "error"]
    assert (
        "Teardown of service 'todo.clock' failed, ServiceInstantiationError: The teardown of "
        "service 'todo.clock' did not finish within 0.3s (backend.lifecycle.shutdownHookTimeout); "
        "it was cancelled"
    ) in errors, errors
