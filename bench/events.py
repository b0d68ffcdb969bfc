"""Benchmark: the events service against the plain primitives, timed in the same run.

Run with ``.venv/bin/python bench/events.py [--events N]``. Part 2 needs PostgreSQL
as the test suite finds it (127.0.0.1:5432, ``BACKSTAGE_TEST_*``, or a server
started from the dev wheels); without one it is skipped with the reason.

1. In process: ``publish`` on the default events service (the in-process bus, one
   subscriber, no hub) until the subscriber ran, against handing the same event to
   a consumer task through a plain ``asyncio.Queue``. Per event, and the ratio.
2. Through the hub on PostgreSQL: two test backends (a publisher and a
   subscriber), each with its own ``events`` hub instance and ``LISTEN``
   connection on one database, in this process so one clock times both ends.
   Latency from ``publish`` to the subscriber's handler, p50 and p99, one event
   at a time; and events per second for a burst. Beside it: a bare
   ``LISTEN``/``NOTIFY`` round trip between two psycopg connections on the same
   server, the floor of any PostgreSQL-notified bus.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from di_backend import PluginRegistrationPoints, create_backend_plugin, inject
from di_backend.events import EventParams, EventsService, events_plugin, events_service_ref
from di_backend.events._local import LocalEventBus
from di_backend.events._service import PluginEventsService, events_service_factory
from di_backend.testing import (
    MockLogger,
    TestDatabases,
    find_postgres,
    mock_services,
    start_test_backend,
)

NOTIFY_TIMEOUT_MS = 2000
"""The hub's long-poll wait: short, so stopping the backends does not wait long."""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def in_process(events: int) -> None:
    """Part 1: the bus against an ``asyncio.Queue`` hand-off."""
    service = PluginEventsService("bench", LocalEventBus(), MockLogger())
    got = [0]

    async def on_event(event: EventParams) -> None:
        got[0] += 1

    await service.subscribe(id="s", topics=["t"], on_event=on_event)

    async def ours() -> float:
        got[0] = 0
        started = time.perf_counter()
        for n in range(events):
            await service.publish(topic="t", event_payload={"n": n})
        assert got[0] == events
        return (time.perf_counter() - started) / events

    async def queue() -> float:
        box: asyncio.Queue[EventParams | None] = asyncio.Queue()
        count = [0]

        async def consumer() -> None:
            while (item := await box.get()) is not None:
                await on_event(item)
                count[0] += 1

        task = asyncio.create_task(consumer())
        started = time.perf_counter()
        for n in range(events):
            await box.put(EventParams("t", {"n": n}))
        await box.put(None)
        await task
        assert count[0] == events
        return (time.perf_counter() - started) / events

    ours_s = statistics.median([await ours() for _ in range(5)])
    queue_s = statistics.median([await queue() for _ in range(5)])
    print(f"1. in process, {events} events, median of 5 rounds")
    print(f"   events.publish -> subscriber  {ours_s * 1e6:7.2f} us/event")
    print(f"   asyncio.Queue hand-off        {queue_s * 1e6:7.2f} us/event")
    print(f"   ratio (queue / ours)          {queue_s / ours_s:7.2f}")
    print(
        "   (publish also checks the arguments and serializes the payload to JSON, which "
        "the hub needs)"
    )


def _app(received: dict[int, float], holder: dict[str, Any]) -> Any:
    def register(env: PluginRegistrationPoints) -> None:
        async def init(events: EventsService = inject(events_service_ref)) -> None:
            holder["events"] = events

            async def on_event(event: EventParams) -> None:
                payload = event.event_payload
                if isinstance(payload, dict):
                    received[int(payload["n"])] = time.perf_counter()  # pyright: ignore[reportUnknownArgumentType]

            if holder.get("subscribe"):
                await events.subscribe(id="bench", topics=["bench"], on_event=on_event)

        env.register_init(init)

    return create_backend_plugin(plugin_id="app", register=register)


async def _bare_notify(url: str, rounds: int) -> list[float]:
    import psycopg

    listener = await psycopg.AsyncConnection.connect(url, autocommit=True)
    sender = await psycopg.AsyncConnection.connect(url, autocommit=True)
    await listener.execute("LISTEN bench_events")
    times: list[float] = []
    notifies = listener.notifies()
    try:
        for n in range(rounds):
            started = time.perf_counter()
            await sender.execute(f"NOTIFY bench_events, '{n}'")
            async with asyncio.timeout(10):
                await anext(notifies)
            times.append(time.perf_counter() - started)
    finally:
        await listener.close()
        await sender.close()
    return times


async def through_the_hub(latency_rounds: int, burst: int) -> None:
    """Part 2: two backends on one PostgreSQL hub."""
    found = find_postgres()
    if isinstance(found, str):
        print(f"2. skipped: {found}")
        return
    from sqlalchemy.ext.asyncio import create_async_engine

    databases = TestDatabases(ids=("POSTGRES",))
    url = databases.new_database_url()
    received: dict[int, float] = {}
    backends = []
    engines = []
    holders: list[dict[str, Any]] = [{"subscribe": False}, {"subscribe": True}]
    try:
        for holder in holders:
            engine = create_async_engine(url)
            engines.append(engine)
            backends.append(
                await start_test_backend(
                    features=[
                        events_plugin,
                        _app(received, holder),
                        events_service_factory,
                        mock_services.database.factory(engine=engine),
                        mock_services.root_config.factory(
                            data={"events": {"notifyTimeoutMs": NOTIFY_TIMEOUT_MS}}
                        ),
                    ]
                )
            )
        publisher: EventsService = holders[0]["events"]
        await _wait(lambda: _probe(publisher, received))
        latencies: list[float] = []
        for n in range(latency_rounds):
            sent = time.perf_counter()
            await publisher.publish(topic="bench", event_payload={"n": n})
            await _wait(lambda n=n: n in received)
            latencies.append(received[n] - sent)
        started = time.perf_counter()
        first = latency_rounds
        for n in range(first, first + burst):
            await publisher.publish(topic="bench", event_payload={"n": n})
        await _wait(lambda: all(n in received for n in range(first, first + burst)), 120)
        burst_s = time.perf_counter() - started
        bare = await _bare_notify(found.url, latency_rounds)
    finally:
        for backend in backends:
            await backend.stop()
        for engine in engines:
            await engine.dispose()
        databases.drop_all()
    print(f"2. through the events hub on PostgreSQL ({found.source})")
    p50, p99 = _percentile(latencies, 0.5) * 1e3, _percentile(latencies, 0.99) * 1e3
    print(
        f"   publish -> other backend's subscriber: p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
        f"({latency_rounds} events, one at a time)"
    )
    print(f"   burst of {burst}: {burst / burst_s:7.0f} events/s (publish to last delivery)")
    print(
        f"   bare LISTEN/NOTIFY round trip:          p50 {_percentile(bare, 0.5) * 1e3:6.2f} ms"
        f"  p99 {_percentile(bare, 0.99) * 1e3:6.2f} ms"
    )
    print(
        "   (the hub path adds two HTTP requests, a token check, an INSERT under the publish "
        "lock and a FOR UPDATE read per event)"
    )


async def _probe(publisher: EventsService, received: dict[int, float]) -> bool:
    await publisher.publish(topic="bench", event_payload={"n": -1})
    await asyncio.sleep(0.2)
    return -1 in received


async def _wait(check: Callable[[], Any], seconds: float = 30.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.001)


def main() -> None:
    """Run both parts and print the numbers."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20000, help="events for part 1")
    parser.add_argument("--rounds", type=int, default=200, help="one-at-a-time events, part 2")
    parser.add_argument("--burst", type=int, default=500, help="burst size, part 2")
    args = parser.parse_args()
    asyncio.run(in_process(args.events))
    asyncio.run(through_the_hub(args.rounds, args.burst))


if __name__ == "__main__":
    main()
