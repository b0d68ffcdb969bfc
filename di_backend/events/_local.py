"""The in-process bus: every subscriber id of a topic gets each event once."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from di_backend.errors import describe_error
from di_backend.events._types import EventHandler, EventParams
from di_backend.services import LoggerService

__all__ = ["LocalEventBus", "Subscription"]


@dataclass(eq=False)
class Subscription:
    """One ``subscribe`` call: a handler for some topics, under a full subscriber id."""

    full_id: str
    topics: frozenset[str]
    handler: EventHandler
    plugin_id: str
    logger: LoggerService
    active: bool = True


@dataclass
class _Subscriber:
    subscriptions: list[Subscription] = field(default_factory=list[Subscription])
    turn: Iterator[int] = field(default_factory=itertools.count)

    def pick(self, topic: str) -> Subscription | None:
        """One of the subscriptions of ``topic``, taking turns (they share the events)."""
        candidates = [s for s in self.subscriptions if s.active and topic in s.topics]
        if not candidates:
            return None
        return candidates[next(self.turn) % len(candidates)]


class LocalEventBus:
    """Delivers events to the subscribers of one backend process.

    Subscriber ids are full ids (``<pluginId>.<id>``). Subscriptions sharing an
    id take turns, so each event reaches the id once. Handlers of different ids
    run concurrently and ``publish`` waits for all; one that raises is logged
    with its plugin, subscriber id and topic, and the others go on.
    """

    def __init__(self) -> None:
        """Create an empty bus."""
        self._subscribers: dict[str, _Subscriber] = {}

    def add(self, subscription: Subscription) -> None:
        """Start delivering to ``subscription``."""
        self._subscribers.setdefault(subscription.full_id, _Subscriber()).subscriptions.append(
            subscription
        )

    def remove(self, subscription: Subscription) -> None:
        """Stop delivering to ``subscription`` (at once, also for events on their way)."""
        subscription.active = False
        subscriber = self._subscribers.get(subscription.full_id)
        if subscriber is not None:
            subscriber.subscriptions = [
                s for s in subscriber.subscriptions if s is not subscription
            ]
            if not subscriber.subscriptions:
                del self._subscribers[subscription.full_id]

    async def publish(self, event: EventParams) -> list[str]:
        """Deliver ``event`` to every subscriber id of its topic; return the ids notified."""
        chosen = [
            (full_id, subscription)
            for full_id, subscriber in list(self._subscribers.items())
            if (subscription := subscriber.pick(event.topic)) is not None
        ]
        if len(chosen) == 1:
            await _deliver(chosen[0][1], event)
        elif chosen:
            await asyncio.gather(*(_deliver(subscription, event) for _, subscription in chosen))
        return [full_id for full_id, _ in chosen]

    async def deliver_to(self, full_id: str, event: EventParams) -> bool:
        """Deliver an event from the hub to subscriber ``full_id``; False if it has none here."""
        subscriber = self._subscribers.get(full_id)
        subscription = None if subscriber is None else subscriber.pick(event.topic)
        if subscription is None:
            return False
        await _deliver(subscription, event)
        return True


async def _deliver(subscription: Subscription, event: EventParams) -> None:
    if not subscription.active:
        return
    try:
        await subscription.handler(event)
    except Exception as error:
        subscription.logger.error(
            f"Subscriber \"{subscription.full_id}\" of plugin '{subscription.plugin_id}' failed "
            f'to process event for topic "{event.topic}"; caused by {describe_error(error)}'
        )
