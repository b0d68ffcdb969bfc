"""Events: publish and subscribe between plugins, in one process or across replicas.

``events_service_ref`` (id ``events.service``, plugin scope) has a default
factory: an in-process bus shared by the plugins of a backend. Install
``events_plugin`` (plugin id ``events``) on a backend with PostgreSQL and events
cross processes: each event reaches each subscriber id once in total, whichever
replica published it and however many replicas subscribe with that id.
"""

from typing import TYPE_CHECKING

from di_backend.events._ref import events_service_ref
from di_backend.events._types import (
    EventHandler,
    EventMetadata,
    EventParams,
    EventsError,
    EventsService,
)

if TYPE_CHECKING:
    from di_backend.events._client import EventsHubError
    from di_backend.events._hub import events_plugin


def __getattr__(name: str) -> object:
    """Load the hub and its client (and the HTTP stack) only when they are asked for."""
    if name == "events_plugin":
        from di_backend.events._hub import events_plugin

        return events_plugin
    if name == "EventsHubError":
        from di_backend.events._client import EventsHubError

        return EventsHubError
    msg = f"module 'di_backend.events' has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = [
    "EventHandler",
    "EventMetadata",
    "EventParams",
    "EventsError",
    "EventsHubError",
    "EventsService",
    "events_plugin",
    "events_service_ref",
]
