"""The events service in one process: delivery, shared ids, failures, stop, and bad arguments."""

from __future__ import annotations

import asyncio
import re

import pytest

from di_backend import PluginRegistrationPoints, create_backend_plugin, inject
from di_backend.errors import ConfigError
from di_backend.events import (
    EventHandler,
    EventParams,
    EventsError,
    EventsService,
    events_service_ref,
)
from di_backend.events._local import LocalEventBus
from di_backend.events._service import PluginEventsService, events_service_factory
from di_backend.testing import MockLogger, mock_services, start_test_backend


def _service(bus: LocalEventBus, plugin_id: str = "p") -> tuple[PluginEventsService, MockLogger]:
    logger = MockLogger()
    return PluginEventsService(plugin_id, bus, logger), logger


class Recorder:
    """An ``on_event`` that keeps what it got."""

    def __init__(self) -> None:
        self.events: list[EventParams] = []

    async def __call__(self, event: EventParams) -> None:
        self.events.append(event)

    @property
    def payloads(self) -> list[object]:
        return [event.event_payload for event in self.events]


async def test_every_subscriber_id_of_the_topic_gets_the_event() -> None:
    """Two ids on the topic both get it, with its metadata; an id on another topic does not."""
    bus = LocalEventBus()
    one, _ = _service(bus, "one")
    two, _ = _service(bus, "two")
    first, second, elsewhere = Recorder(), Recorder(), Recorder()
    await one.subscribe(id="a", topics=["todo.created"], on_event=first)
    await two.subscribe(id="b", topics=["todo.created", "todo.deleted"], on_event=second)
    await two.subscribe(id="c", topics=["other"], on_event=elsewhere)
    await one.publish(topic="todo.created", event_payload={"id": 1}, metadata={"source": "x"})
    assert first.events == [EventParams("todo.created", {"id": 1}, {"source": "x"})]
    assert second.payloads == [{"id": 1}]
    assert elsewhere.events == []


async def test_subscriptions_sharing_an_id_share_the_events() -> None:
    """Two subscriptions with one id: each event reaches exactly one of them, taking turns."""
    bus = LocalEventBus()
    service, _ = _service(bus)
    left, right = Recorder(), Recorder()
    await service.subscribe(id="worker", topics=["jobs"], on_event=left)
    await service.subscribe(id="worker", topics=["jobs"], on_event=right)
    for n in range(10):
        await service.publish(topic="jobs", event_payload=n)
    assert sorted([*left.payloads, *right.payloads]) == list(range(10))  # type: ignore[type-var]
    assert len(left.events) == len(right.events) == 5


async def test_ids_are_per_plugin() -> None:
    """The same id in two plugins is two subscribers (``<pluginId>.<id>``): both get the event."""
    bus = LocalEventBus()
    one, _ = _service(bus, "one")
    two, _ = _service(bus, "two")
    first, second = Recorder(), Recorder()
    await one.subscribe(id="indexer", topics=["t"], on_event=first)
    await two.subscribe(id="indexer", topics=["t"], on_event=second)
    await one.publish(topic="t", event_payload=1)
    assert (first.payloads, second.payloads) == ([1], [1])


async def test_a_failing_handler_is_logged_and_the_others_still_get_the_event() -> None:
    """A handler that raises is logged with plugin, subscriber id and topic; delivery goes on."""
    bus = LocalEventBus()
    service, logger = _service(bus, "todo")
    ok = Recorder()

    async def broken(event: EventParams) -> None:
        raise RuntimeError("index down")

    await service.subscribe(id="broken", topics=["t"], on_event=broken)
    await service.subscribe(id="ok", topics=["t"], on_event=ok)
    await service.publish(topic="t", event_payload=1)
    assert ok.payloads == [1]
    assert logger.messages("error") == [
        'Subscriber "todo.broken" of plugin \'todo\' failed to process event for topic "t"; '
        "caused by RuntimeError: index down"
    ]


async def test_handlers_of_different_ids_run_concurrently() -> None:
    """``publish`` runs the subscribers of different ids side by side and waits for them all."""
    bus = LocalEventBus()
    service, _ = _service(bus)
    both_running = asyncio.Barrier(2)
    done: list[str] = []

    def handler(name: str) -> EventHandler:
        async def run(event: EventParams) -> None:
            async with asyncio.timeout(5):
                await both_running.wait()  # only returns when the other one runs too
            done.append(name)

        return run

    await service.subscribe(id="a", topics=["t"], on_event=handler("a"))
    await service.subscribe(id="b", topics=["t"], on_event=handler("b"))
    await service.publish(topic="t", event_payload=1)
    assert sorted(done) == ["a", "b"]


async def test_nothing_is_delivered_after_stop() -> None:
    """After a plugin's service stops its subscribers get nothing, and it cannot publish."""
    bus = LocalEventBus()
    stopping, _ = _service(bus, "stopping")
    other, _ = _service(bus, "other")
    seen = Recorder()
    await stopping.subscribe(id="s", topics=["t"], on_event=seen)
    await stopping.stop()
    await other.publish(topic="t", event_payload=1)
    assert seen.events == []
    with pytest.raises(EventsError, match="Service is shutting down: plugin 'stopping'"):
        await stopping.publish(topic="t", event_payload=2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            {"publish": {"topic": "", "event_payload": 1}},
            "Plugin 'todo' called events.publish with topic='': the topic must be a non-empty "
            "string",
        ),
        (
            {"publish": {"topic": "t", "event_payload": {"at": object()}}},
            "Plugin 'todo' called events.publish with an event_payload of type dict: the payload "
            "must be JSON-serializable",
        ),
        (
            {"publish": {"topic": "t", "event_payload": float("nan")}},
            "the payload must be JSON-serializable",
        ),
        (
            {"publish": {"topic": "t", "event_payload": 1, "metadata": {"n": 1}}},
            "Plugin 'todo' called events.publish with metadata['n']: metadata values must be "
            "strings or lists of strings",
        ),
        (
            {"subscribe": {"id": "", "topics": ["t"]}},
            "Plugin 'todo' called events.subscribe with id='': the subscriber id must be a "
            "non-empty string",
        ),
        (
            {"subscribe": {"id": "s", "topics": []}},
            "Plugin 'todo' called events.subscribe with topics=[] (subscriber 's'): give a "
            "non-empty list of topics",
        ),
        (
            {"subscribe": {"id": "s", "topics": "t"}},
            "Plugin 'todo' called events.subscribe with topics='t' (subscriber 's'): give a "
            "non-empty list of topics",
        ),
        (
            {"subscribe": {"id": "s", "topics": ["t", ""]}},
            "Plugin 'todo' called events.subscribe with topic '' (subscriber 's'): every topic "
            "must be a non-empty string",
        ),
    ],
    ids=[
        "empty-topic",
        "unserializable-payload",
        "nan-payload",
        "bad-metadata",
        "empty-id",
        "no-topics",
        "topics-as-string",
        "empty-topic-in-list",
    ],
)
async def test_bad_arguments_name_the_plugin_and_the_argument(
    call: dict[str, dict[str, object]], message: str
) -> None:
    """Each bad argument is an EventsError naming the plugin, the argument and the rule."""
    service, _ = _service(LocalEventBus(), "todo")
    [(method, kwargs)] = call.items()
    call_it = (
        service.publish(**kwargs)  # type: ignore[arg-type]
        if method == "publish"
        else service.subscribe(on_event=Recorder(), **kwargs)  # type: ignore[arg-type]
    )
    with pytest.raises(EventsError, match=re.escape(message)):
        await call_it


async def test_the_default_factory_shares_one_bus_between_the_plugins_of_a_backend() -> None:
    """Through ``events_service_ref``, one plugin's publish reaches another plugin's subscriber."""
    seen = Recorder()
    services: list[EventsService] = []

    def subscriber(env: PluginRegistrationPoints) -> None:
        async def init(events: EventsService = inject(events_service_ref)) -> None:
            await events.subscribe(id="rec", topics=["hello"], on_event=seen)

        env.register_init(init)

    def publisher(env: PluginRegistrationPoints) -> None:
        async def init(events: EventsService = inject(events_service_ref)) -> None:
            services.append(events)

        env.register_init(init)

    backend = await start_test_backend(
        features=[
            create_backend_plugin(plugin_id="sub", register=subscriber),
            create_backend_plugin(plugin_id="pub", register=publisher),
            events_service_factory,
            mock_services.root_config.factory(data={"events": {"useEventBus": "never"}}),
        ]
    )
    try:
        await services[0].publish(topic="hello", event_payload="world")
    finally:
        await backend.stop()
    assert seen.payloads == ["world"]


async def test_a_bad_use_event_bus_value_is_refused() -> None:
    """``events.useEventBus`` other than never/always/auto fails with Backstage's message."""
    from di_backend.config import ObservableConfig
    from di_backend.events._service import read_use_event_bus

    with pytest.raises(
        ConfigError,
        match=re.escape(
            "Invalid events.useEventBus config, must be one of never, always, auto, got 'sometimes'"
        ),
    ):
        read_use_event_bus(ObservableConfig({"events": {"useEventBus": "sometimes"}}))


class TestMock:
    async def test_the_mock_records_and_delivers(self) -> None:
        """``mock_services.events()`` keeps what was published and calls the subscribers."""
        events = mock_services.events()
        seen = Recorder()
        await events.subscribe(id="s", topics=["t"], on_event=seen)
        await events.publish(topic="t", event_payload={"n": 1})
        await events.publish(topic="other", event_payload=2)
        assert events.published_to("t") == [{"n": 1}]
        assert [e.topic for e in events.published] == ["t", "other"]
        assert seen.payloads == [{"n": 1}]

    async def test_subscriber_errors_reach_the_publisher(self) -> None:
        """In the mock a failing subscriber's error propagates, so the test sees it."""
        events = mock_services.events()

        async def broken(event: EventParams) -> None:
            raise RuntimeError("boom")

        await events.subscribe(id="s", topics=["t"], on_event=broken)
        with pytest.raises(RuntimeError, match="boom"):
            await events.publish(topic="t", event_payload=1)

    async def test_the_mock_checks_arguments_like_the_real_one(self) -> None:
        """An empty topic is refused by the mock too."""
        with pytest.raises(EventsError, match="the topic must be a non-empty string"):
            await mock_services.events().publish(topic="", event_payload=1)
