"""The events hub on PostgreSQL: two backends in this process share events through it.

Each backend is a test backend with the ``events`` plugin and the real events
factory, both on their own engine of one PostgreSQL database, so each has its
own hub instance and ``LISTEN`` connection, as replicas do. The end-to-end tests
(``tests/e2e/test_e2e_events.py``) run the same across processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from di_backend import (
    Backend,
    BackendPlugin,
    PluginRegistrationPoints,
    core_services,
    create_backend_plugin,
    create_service_factory,
    inject,
)
from di_backend.events import (
    EventParams,
    EventsHubError,
    EventsService,
    events_plugin,
    events_service_ref,
)
from di_backend.events._service import events_service_factory
from di_backend.testing import (
    MockLogger,
    TestDatabases,
    free_port,
    mock_services,
    start_test_backend,
)


@dataclass
class Node:
    """One backend: its publishing service and what its subscribers received."""

    name: str
    backend: Backend
    events: EventsService
    received: dict[str, list[object]] = field(default_factory=dict[str, list[object]])


Subscriptions = dict[str, list[str]]  # subscriber id -> topics


def _app(name: str, subscriptions: Subscriptions, node: dict[str, Any]) -> BackendPlugin:
    received: dict[str, list[object]] = {sub: [] for sub in subscriptions}
    node["received"] = received

    def register(env: PluginRegistrationPoints) -> None:
        async def init(events: EventsService = inject(events_service_ref)) -> None:
            node["events"] = events
            for sub, topics in subscriptions.items():

                async def on_event(event: EventParams, sub: str = sub) -> None:
                    received[sub].append(event.event_payload)

                await events.subscribe(id=sub, topics=topics, on_event=on_event)

        env.register_init(init)

    return create_backend_plugin(plugin_id="app", register=register)


class NodeMaker(Protocol):
    """The ``make_node`` fixture."""

    def __call__(
        self, name: str, subscriptions: Subscriptions, *, notify_timeout_ms: int = ...
    ) -> Awaitable[Node]: ...


@pytest.fixture(name="hub_url")
def _hub_url(test_databases: TestDatabases) -> str:
    """A fresh PostgreSQL database for the hub, shared by the test's backends."""
    return test_databases.new_database_url()


@pytest.fixture(name="make_node")
async def _make_node(hub_url: str) -> AsyncIterator[NodeMaker]:
    """Start backends on the shared hub database; stop them and their engines after the test."""
    started: list[tuple[Backend, AsyncEngine]] = []

    async def make(
        name: str, subscriptions: Subscriptions, *, notify_timeout_ms: int = 2000
    ) -> Node:
        engine = create_async_engine(hub_url)
        holder: dict[str, Any] = {}
        backend = await start_test_backend(
            features=[
                events_plugin,
                _app(name, subscriptions, holder),
                events_service_factory,
                mock_services.database.factory(engine=engine),
                mock_services.root_config.factory(
                    data={"events": {"notifyTimeoutMs": notify_timeout_ms}}
                ),
            ]
        )
        started.append((backend, engine))
        return Node(name, backend, holder["events"], holder["received"])

    yield make
    for backend, engine in started:
        await backend.stop()
        await engine.dispose()


async def _until(check: Callable[[], bool], seconds: float = 15.0) -> None:
    async with asyncio.timeout(seconds):
        while not check():  # noqa: ASYNC110 (waiting for deliveries from other tasks)
            await asyncio.sleep(0.02)


async def test_each_event_reaches_each_subscriber_id_once_across_backends(
    make_node: NodeMaker,
) -> None:
    """Replicas sharing an id split the events (each once); an id on one replica gets all."""
    a = await make_node("a", {"shared": ["todo"]})
    b = await make_node("b", {"shared": ["todo"], "audit": ["todo"]})
    await asyncio.sleep(0.5)  # both hubs have the subscriptions registered
    for n in range(30):
        await a.events.publish(topic="todo", event_payload=n)

    def shared() -> list[int]:
        return [int(str(n)) for n in (*a.received["shared"], *b.received["shared"])]

    await _until(lambda: len(shared()) >= 30 and len(b.received["audit"]) >= 30)
    await asyncio.sleep(0.5)  # would a duplicate still arrive?
    assert sorted(shared()) == list(range(30))
    assert b.received["audit"] == list(range(30))
    assert a.received["shared"], "the publishing replica's own subscriber got its events locally"


async def test_a_waiting_poll_wakes_for_each_new_event(make_node: NodeMaker) -> None:
    """With a 20 s long-poll, events published one at a time each arrive long before it ends.

    The hub watches for notifications before it reads, so an event committed between a
    poll's read and its wait still wakes it (it used to wait for the timeout).
    """
    a = await make_node("a", {}, notify_timeout_ms=20000)
    b = await make_node("b", {"prompt": ["ping"]}, notify_timeout_ms=20000)
    await asyncio.sleep(0.5)
    for n in range(5):
        await a.events.publish(topic="ping", event_payload=n)

        def arrived(n: int = n) -> bool:
            return n in b.received["prompt"]

        await _until(arrived, seconds=5.0)
    assert b.received["prompt"] == list(range(5))


async def test_a_subscriber_that_was_down_catches_up(make_node: NodeMaker) -> None:
    """Events published while a subscriber id had no running replica reach it when it returns."""
    first = await make_node("a", {"late": ["orders"]})
    await asyncio.sleep(0.5)
    await first.backend.stop()
    publisher = await make_node("p", {})
    for n in range(5):
        await publisher.events.publish(topic="orders", event_payload={"order": n})
    back = await make_node("a2", {"late": ["orders"]})
    await _until(lambda: len(back.received["late"]) >= 5)
    assert back.received["late"] == [{"order": n} for n in range(5)]


async def test_events_nobody_else_wants_are_not_stored(make_node: NodeMaker, hub_url: str) -> None:
    """An event only local subscribers wanted is not kept by the hub (Backstage's 204)."""
    import psycopg

    node = await make_node("a", {"only": ["solo"]})
    await asyncio.sleep(0.5)
    await node.events.publish(topic="solo", event_payload=1)
    await node.events.publish(topic="nobody", event_payload=2)
    with psycopg.connect(hub_url.replace("postgresql+psycopg", "postgresql")) as connection:
        row = connection.execute("SELECT count(*) FROM event_bus_events").fetchone()
    assert row is not None
    assert row[0] == 0
    assert node.received["only"] == [1]


async def test_publish_fails_clearly_when_the_hub_is_down() -> None:
    """With the hub down, publish raises naming plugin, topic and URL, after local delivery."""
    port = free_port()
    holder: dict[str, Any] = {}
    backend = await start_test_backend(
        features=[
            _app("solo", {"here": ["t"]}, holder),
            events_service_factory,
            mock_services.discovery.factory(base_url=f"http://127.0.0.1:{port}"),
            mock_services.root_config.factory(data={"events": {"hubTimeout": "1s"}}),
        ]
    )
    try:
        with pytest.raises(EventsHubError) as caught:
            await holder["events"].publish(topic="t", event_payload=1)
    finally:
        await backend.stop()
    message = str(caught.value)
    assert (
        f"Plugin 'app' could not publish to topic 't' through the events hub at http://127.0.0.1:{port}/api/events/bus/v1/events"
        in message
    )
    assert "Subscribers in this process got the event" in message
    assert holder["received"]["here"] == [1]


async def test_without_a_hub_plugin_auto_mode_stays_local() -> None:
    """In ``auto`` mode a backend without the events plugin warns once and keeps events local."""
    holder: dict[str, Any] = {}
    logger = MockLogger()
    backend = await start_test_backend(
        features=[
            _app("solo", {"here": ["t"]}, holder),
            events_service_factory,
            create_service_factory(core_services.root_logger, lambda: logger),
        ]
    )
    try:
        await holder["events"].publish(topic="t", event_payload=1)
        await holder["events"].publish(topic="t", event_payload=2)
    finally:
        await backend.stop()
    assert holder["received"]["here"] == [1, 2]
    warnings = [m for m in logger.messages("warn") if "events backend not found" in m]
    assert len(warnings) == 1


async def test_on_sqlite_the_hub_says_it_serves_one_process() -> None:
    """The hub on SQLite keeps events in memory and logs that it serves this process only."""
    logger = MockLogger()
    backend = await start_test_backend(
        features=[events_plugin, create_service_factory(core_services.root_logger, lambda: logger)]
    )
    await backend.stop()
    assert any("serves this one process only" in m for m in logger.messages("warn"))


async def test_webhooks_publish_the_body_to_their_topic(make_node: NodeMaker) -> None:
    """``POST /api/events/http/<topic>`` for a configured topic publishes the JSON body."""
    del make_node
    holder: dict[str, Any] = {}
    backend = await start_test_backend(
        features=[
            events_plugin,
            _app("hooks", {"github": ["github"]}, holder),
            mock_services.root_config.factory(data={"events": {"http": {"topics": ["github"]}}}),
        ]
    )
    from di_backend.testing import http_client

    try:
        async with http_client(backend) as client:
            accepted = await client.post(
                "/api/events/http/github",
                json={"action": "push"},
                headers={"x-github-event": "push"},
            )
            unknown = await client.post("/api/events/http/gitlab", json={})
    finally:
        await backend.stop()
    assert accepted.status_code == 202, accepted.text
    assert unknown.status_code == 404
    assert "No webhook for topic 'gitlab'" in unknown.text
    assert holder["received"]["github"] == [{"action": "push"}]
