"""``events_service_ref``: the ref of the events service (id ``events.service``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Final

from di_backend._refs import ServiceRef, create_service_ref

if TYPE_CHECKING:
    from di_backend._factories import ServiceFactory
    from di_backend.events._types import EventsService

__all__ = ["events_service_ref"]


def _default(ref: ServiceRef[EventsService]) -> ServiceFactory[EventsService]:
    module = importlib.import_module("di_backend.events._service")
    factory: ServiceFactory[EventsService] = module.events_service_factory
    return factory


events_service_ref: Final[ServiceRef[EventsService]] = create_service_ref(
    id="events.service", scope="plugin", default_factory=_default
)
"""The events service of a plugin (plugin scope; an in-process bus by default)."""
