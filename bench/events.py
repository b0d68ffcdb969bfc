"""Benchmark: the events service against the plain primitives, timed in the same run.

Run with ``.venv/bin/python bench/events.py [--events N]``. Part 2 needs PostgreSQL
as the test suite finds it (127.0.0.1:5432, ``BACKSTAGE_TEST_*``, or a server
started from the dev wheels); without one it is skipped with the reason.

1. In process: ``publish`` on the default events service (the in-process bus, one
   subscriber, no hub) until the subscriber ran, against handing the same event to
   a consumer task through a plain ``asyncio.Queue``. Per event, and the ratio.
2. Across processes on PostgreSQL: three ``di-backend start`` processes (the hub,
   a subscriber, a publisher; plugin ``app`` of ``tests/e2e/events``). Latency from
   ``publish`` in one process to the handler in another (wall clocks of one
   machine), p50 and p99, one event at a time; and events per second for a burst.
   Beside it: a bare ``LISTEN``/``NOTIFY`` round trip between two psycopg
   connections on the same server, the floor of any PostgreSQL-notified bus.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import yaml

from di_backend.events import EventParams
from di_backend.events._local import LocalEventBus
from di_backend.events._service import PluginEventsService
from di_backend.testing import MockLogger, TestDatabases, find_postgres

REPO = Path(__file__).resolve().parents[1]
APP_DIR = REPO / "tests" / "e2e" / "events"  # the plugin of the events end-to-end tests
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from e2e_support import LOOPBACK, BackendProcess, free_ports, running  # noqa: E402

NOTIFY_TIMEOUT_MS = 2000
"""The hub's long-poll wait: short, so stopping the processes does not wait long."""


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


def _config(tmp: Path, name: str, ports: dict[str, int], database: dict[str, Any]) -> Path:
    features = ["di_backend.events:events_plugin"] if name == "hub" else ["events_app:plugin"]
    endpoints = [_endpoint(ports["hub"], "events")]
    if name == "hub":  # the hub checks tokens with the keys the 'app' replicas share
        endpoints.append(_endpoint(ports["pub"], "app"))
    config = {
        "backend": {
            "listen": {"host": LOOPBACK, "port": ports[name]},
            "features": features,
            "database": database,
            "lifecycle": {"serverShutdownTimeout": "2s"},
        },
        "events": {"notifyTimeoutMs": NOTIFY_TIMEOUT_MS},
        "discovery": {"endpoints": endpoints},
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _endpoint(port: int, plugin: str) -> dict[str, Any]:
    return {"target": f"http://{LOOPBACK}:{port}/api/{{{{pluginId}}}}", "plugins": [plugin]}


def _received(process: BackendProcess) -> list[dict[str, Any]]:
    body = process.get("/api/app/received").json()
    return [event for event in body.get("bench", []) if int(event["n"]) >= 0]


def _publish(process: BackendProcess, count: int, start: int) -> None:
    with httpx.Client(timeout=httpx.Timeout(60.0), trust_env=False) as http:
        response = http.post(
            f"{process.base_url}/api/app/publish", params={"n": count, "start": start}
        )
    if response.status_code != 200:
        raise SystemExit(f"aborting: publish failed: {response.status_code} {response.text}")


def _until(check: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"aborting: {what} not within {seconds:.0f}s")
        time.sleep(0.002)


def through_the_hub(latency_rounds: int, burst: int) -> None:
    """Part 2: a hub, a subscriber and a publisher, three ``di-backend start`` processes."""
    found = find_postgres()
    if isinstance(found, str):
        print(f"2. skipped: {found}")
        return
    databases = TestDatabases(ids=("POSTGRES",))
    database = databases.database_config("POSTGRES")
    names = ["hub", "sub", "pub"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    subscribe = {"hub": "", "sub": "bench", "pub": ""}
    with tempfile.TemporaryDirectory() as directory, ExitStack() as stack:
        tmp = Path(directory)
        stack.callback(databases.drop_all)
        processes: dict[str, BackendProcess] = {}
        for name in ["hub", "pub", "sub"]:  # pub before sub: its JWKS serves the hub
            process = stack.enter_context(
                running(
                    name,
                    [_config(tmp, name, ports, database)],
                    ports[name],
                    tmp,
                    {"REPLICA": name, "SUBSCRIBE": subscribe[name], "PYTHONPATH": str(APP_DIR)},
                    cwd=APP_DIR,
                )
            )
            process.wait_until_ready()
            processes[name] = process
        sub, pub = processes["sub"], processes["pub"]

        def probe_arrived() -> bool:
            _publish(pub, 1, -1)
            time.sleep(0.2)
            body = sub.get("/api/app/received").json()
            return any(int(e["n"]) == -1 for e in body.get("bench", []))

        _until(probe_arrived, "the subscription")
        for n in range(latency_rounds):
            _publish(pub, 1, n)
            _until(lambda n=n: len(_received(sub)) > n, f"event {n}")
        events = _received(sub)
        latencies = [float(e["received"]) - float(e["sent"]) for e in events]
        _publish(pub, burst, latency_rounds)
        _until(lambda: len(_received(sub)) >= latency_rounds + burst, "the burst", 300)
        burst_events = _received(sub)[latency_rounds:]
        span = max(float(e["received"]) for e in burst_events) - min(
            float(e["sent"]) for e in burst_events
        )
    bare = asyncio.run(_bare_notify(found.url, latency_rounds))
    p50, p99 = _percentile(latencies, 0.5) * 1e3, _percentile(latencies, 0.99) * 1e3
    print(f"2. across processes through the events hub on PostgreSQL ({found.source})")
    print(
        f"   publish (process pub) -> subscriber (process sub): p50 {p50:6.2f} ms  "
        f"p99 {p99:6.2f} ms  ({latency_rounds} events, one at a time; wall clocks of one machine)"
    )
    print(f"   burst of {burst}: {burst / span:7.0f} events/s (first publish to last delivery)")
    bare50, bare99 = _percentile(bare, 0.5) * 1e3, _percentile(bare, 0.99) * 1e3
    print(f"   bare LISTEN/NOTIFY round trip: p50 {bare50:6.2f} ms  p99 {bare99:6.2f} ms")
    print(
        "   (the hub path adds two HTTP requests, a token check, an INSERT under the publish "
        "lock and a FOR UPDATE read per event)"
    )


def main() -> None:
    """Run both parts and print the numbers."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20000, help="events for part 1")
    parser.add_argument("--rounds", type=int, default=200, help="one-at-a-time events, part 2")
    parser.add_argument("--burst", type=int, default=500, help="burst size, part 2")
    args = parser.parse_args()
    asyncio.run(in_process(args.events))
    through_the_hub(args.rounds, args.burst)


if __name__ == "__main__":
    main()
