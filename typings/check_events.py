"""What the type checkers accept and reject in the events API."""

from __future__ import annotations

from di_backend import inject
from di_backend.events import EventParams, EventsService, events_service_ref


async def on_event(event: EventParams) -> None:
    """A handler: it takes the event."""
    _topic: str = event.topic


async def wrong_handler(event: str) -> None:
    """A handler taking something else."""


async def uses(events: EventsService = inject(events_service_ref)) -> None:
    """Injecting the ref gives an ``EventsService``."""
    await events.publish(topic="todo.created", event_payload={"id": 1})
    await events.publish(topic="t", event_payload=None, metadata={"source": "x", "list": ["a"]})
    await events.subscribe(id="indexer", topics=["todo.created"], on_event=on_event)
    await events.publish("todo.created", {"id": 1})  # type: ignore[call-arg]
    await events.subscribe(id="x", topics=["t"], on_event=wrong_handler)  # type: ignore[arg-type]
    await events.publish(topic="t", event_payload=1, metadata={"n": 1})  # type: ignore[dict-item]


def wrong_injection(events: int = inject(events_service_ref)) -> None:  # type: ignore[assignment]
    """Injecting the ref into another type is an error."""
