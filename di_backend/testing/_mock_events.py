"""``mock_services.events``: an events service that records what was published and delivers it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from di_backend._factories import ServiceFactory, create_service_factory
from di_backend.events._ref import events_service_ref
from di_backend.events._types import (
    EventHandler,
    EventMetadata,
    EventParams,
    EventsService,
    check_publish,
    check_subscribe,
)

__all__ = ["MockEventsService", "events", "events_factory"]


@dataclass(frozen=True, slots=True)
class _Subscription:
    id: str
    topics: frozenset[str]
    handler: EventHandler


class MockEventsService:
    """Backstage's ``MockEventsService``, in process.

    ``publish`` checks its arguments as the real service does, records the event
    in :attr:`published`, and awaits the subscribers of the topic one after the
    other, in the order they subscribed; their errors propagate to the
    publisher, so a test sees them. Subscriptions that share an id take turns.

    Attributes:
        published: every event published, in order.

    """

    def __init__(self, plugin_id: str = "test") -> None:
        """A service whose checks name ``plugin_id``."""
        self._plugin_id = plugin_id
        self.published: list[EventParams] = []
        self._subscriptions: list[_Subscription] = []
        self._turns: dict[str, int] = {}

    def published_to(self, topic: str) -> list[object]:
        """The payloads published to ``topic``, in order."""
        return [event.event_payload for event in self.published if event.topic == topic]

    async def publish(
        self, *, topic: str, event_payload: object, metadata: EventMetadata | None = None
    ) -> None:
        """Record the event and deliver it to each subscriber id of the topic once."""
        check_publish(self._plugin_id, topic, event_payload, metadata)
        event = EventParams(topic=topic, event_payload=event_payload, metadata=metadata)
        self.published.append(event)
        by_id: dict[str, list[_Subscription]] = {}
        for subscription in self._subscriptions:
            if topic in subscription.topics:
                by_id.setdefault(subscription.id, []).append(subscription)
        for id, candidates in by_id.items():
            turn = self._turns.get(id, 0)
            self._turns[id] = turn + 1
            await candidates[turn % len(candidates)].handler(event)

    async def subscribe(self, *, id: str, topics: Sequence[str], on_event: EventHandler) -> None:
        """Deliver the events of ``topics`` to ``on_event`` from now on."""
        id, checked = check_subscribe(self._plugin_id, id, topics)
        self._subscriptions.append(_Subscription(id, frozenset(checked), on_event))


def events() -> MockEventsService:
    """Return a :class:`MockEventsService`."""
    return MockEventsService()


def events_factory() -> ServiceFactory[EventsService]:
    """A factory serving one :class:`MockEventsService` to every plugin of the backend."""
    service = MockEventsService()
    return create_service_factory(events_service_ref, lambda: service)
