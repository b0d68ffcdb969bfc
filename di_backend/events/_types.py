"""The events service's types: ``EventParams``, ``EventsService`` and the argument checks."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

__all__ = [
    "EventHandler",
    "EventMetadata",
    "EventParams",
    "EventsError",
    "EventsService",
    "check_publish",
    "check_subscribe",
]

EventMetadata: TypeAlias = Mapping[str, "str | Sequence[str]"]
"""Metadata of an event, e.g. the headers of a webhook: strings or lists of strings."""


@dataclass(frozen=True, slots=True)
class EventParams:
    """One event, as Backstage's ``EventParams``.

    Attributes:
        topic: what the event is about, e.g. ``"todo.created"``.
        event_payload: the event itself; anything JSON can carry.
        metadata: extra data (a webhook's headers); ``None`` when there is none.

    """

    topic: str
    event_payload: object
    metadata: EventMetadata | None = field(default=None)


EventHandler: TypeAlias = Callable[[EventParams], Awaitable[None]]
"""An ``on_event`` callback."""


class EventsError(ValueError):
    """A bad ``publish`` or ``subscribe`` call; the message names the plugin and the argument."""


class EventsService(Protocol):
    """Publish events and subscribe to them (``events.service``)."""

    async def publish(
        self, *, topic: str, event_payload: object, metadata: EventMetadata | None = None
    ) -> None:
        """Deliver the event to every subscriber id subscribed to ``topic``.

        Raises:
            EventsError: an empty topic, or a payload or metadata JSON cannot carry.
            EventsHubError: the events hub did not take the event (it is down, or
                slower than its timeout); local subscribers got it already.

        """
        ...

    async def subscribe(self, *, id: str, topics: Sequence[str], on_event: EventHandler) -> None:
        """Call ``on_event`` for events of ``topics``.

        Subscriptions with the same ``id`` share the events: each event reaches that
        id once, in one of them, whichever replica holds it.

        Raises:
            EventsError: an empty ``id``, no topics, or an empty topic.

        """
        ...


def _fail(plugin_id: str, method: str, argument: str, rule: str) -> EventsError:
    return EventsError(f"Plugin '{plugin_id}' called events.{method} with {argument}: {rule}")


def _no_constant(name: str) -> object:
    msg = f"{name} is not JSON"
    raise ValueError(msg)


def check_publish(
    plugin_id: str, topic: object, payload: object, metadata: object
) -> tuple[str, str]:
    """Check a publish call; return the topic and the payload as JSON text.

    Raises:
        EventsError: the rule the call broke, naming the plugin and the argument.

    """
    if not isinstance(topic, str) or not topic.strip():
        raise _fail(
            plugin_id, "publish", f"topic={topic!r}", "the topic must be a non-empty string"
        )
    try:
        text = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise _fail(
            plugin_id,
            "publish",
            f"an event_payload of type {type(payload).__name__}",
            f"the payload must be JSON-serializable ({error})",
        ) from error
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise _fail(plugin_id, "publish", "metadata", "it must be a mapping of strings")
        for key, value in metadata.items():  # pyright: ignore[reportUnknownVariableType]
            ok = isinstance(value, str) or (
                isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)  # pyright: ignore[reportUnknownVariableType]
            )
            if not isinstance(key, str) or not ok:
                raise _fail(
                    plugin_id,
                    "publish",
                    f"metadata[{key!r}]",
                    "metadata values must be strings or lists of strings",
                )
    return topic, text


def check_subscribe(plugin_id: str, id: object, topics: object) -> tuple[str, tuple[str, ...]]:
    """Check a subscribe call; return the id and the topics.

    Raises:
        EventsError: the rule the call broke, naming the plugin and the argument.

    """
    if not isinstance(id, str) or not id.strip():
        raise _fail(
            plugin_id, "subscribe", f"id={id!r}", "the subscriber id must be a non-empty string"
        )
    if isinstance(topics, str) or not isinstance(topics, Sequence) or not topics:
        raise _fail(
            plugin_id,
            "subscribe",
            f"topics={topics!r} (subscriber '{id}')",
            "give a non-empty list of topics",
        )
    checked: list[str] = []
    for topic in topics:  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(topic, str) or not topic.strip():
            raise _fail(
                plugin_id,
                "subscribe",
                f"topic {topic!r} (subscriber '{id}')",
                "every topic must be a non-empty string",
            )
        checked.append(topic)
    return id, tuple(dict.fromkeys(checked))


def decode_payload(text: str) -> object:
    """The payload of a stored event."""
    value: object = json.loads(text, parse_constant=_no_constant)
    if isinstance(value, float) and not math.isfinite(value):
        msg = "not a finite number"
        raise ValueError(msg)
    return value
