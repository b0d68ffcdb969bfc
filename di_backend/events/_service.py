"""``events.service``: the events service of one plugin, and its default factory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from di_backend._core_services import core_services
from di_backend._factories import ServiceFactory, create_service_factory
from di_backend._inject import inject
from di_backend.config._durations import read_duration_from_config
from di_backend.errors import ConfigError
from di_backend.events._client import USE_EVENT_BUS, HubClient
from di_backend.events._local import LocalEventBus, Subscription
from di_backend.events._ref import events_service_ref
from di_backend.events._types import (
    EventHandler,
    EventMetadata,
    EventParams,
    EventsError,
    check_publish,
    check_subscribe,
)
from di_backend.services import (
    AuthService,
    DiscoveryService,
    LifecycleService,
    LoggerService,
    PluginMetadataService,
    RootConfigService,
)

if TYPE_CHECKING:
    from di_backend._refs import ServiceRef
    from di_backend.events._types import EventsService

__all__ = ["PluginEventsService", "events_service_factory", "read_use_event_bus"]

_HUB_TIMEOUT = timedelta(seconds=10)
"""How long a publish (or a subscription request) waits for the hub: ``events.hubTimeout``."""


class PluginEventsService:
    """The events service of one plugin: the process's bus, and the hub when there is one.

    ``subscribe`` prefixes ids with the plugin id (``<pluginId>.<id>``), as
    Backstage does, so two plugins' ``indexer`` subscribers are two ids.
    """

    def __init__(
        self,
        plugin_id: str,
        bus: LocalEventBus,
        logger: LoggerService,
        hub: HubClient | None = None,
    ) -> None:
        """Publish and subscribe on ``bus`` (and through ``hub``) as ``plugin_id``."""
        self._plugin_id = plugin_id
        self._bus = bus
        self._logger = logger
        self._hub = hub
        self._subscriptions: list[Subscription] = []
        self._stopped = False

    async def publish(
        self, *, topic: str, event_payload: object, metadata: EventMetadata | None = None
    ) -> None:
        """See :meth:`EventsService.publish`."""
        topic, data_json = check_publish(self._plugin_id, topic, event_payload, metadata)
        if self._stopped:
            msg = (
                f"Service is shutting down: plugin '{self._plugin_id}' published to topic "
                f"'{topic}' after its shutdown began"
            )
            raise EventsError(msg)
        event = EventParams(topic=topic, event_payload=event_payload, metadata=metadata)
        notified = await self._bus.publish(event)
        if self._hub is not None:
            await self._hub.publish(event, data_json, notified)

    async def subscribe(self, *, id: str, topics: Sequence[str], on_event: EventHandler) -> None:
        """See :meth:`EventsService.subscribe`; the hub subscription starts in the background."""
        id, checked = check_subscribe(self._plugin_id, id, topics)
        if self._stopped:
            msg = f"Service is shutting down: plugin '{self._plugin_id}' subscribed '{id}' too late"
            raise EventsError(msg)
        full_id = f"{self._plugin_id}.{id}"
        subscription = Subscription(
            full_id, frozenset(checked), on_event, self._plugin_id, self._logger
        )
        self._bus.add(subscription)
        self._subscriptions.append(subscription)
        if self._hub is not None:

            async def deliver(event: EventParams) -> None:
                await self._bus.deliver_to(full_id, event)

            self._hub.start_polling(full_id, checked, deliver)

    async def stop(self) -> None:
        """Stop: no event is delivered to this plugin's subscribers after this."""
        self._stopped = True
        for subscription in self._subscriptions:
            self._bus.remove(subscription)
        self._subscriptions.clear()
        if self._hub is not None:
            await self._hub.aclose()


def read_use_event_bus(config: RootConfigService) -> str:
    """``events.useEventBus`` (default ``auto``).

    Raises:
        ConfigError: Backstage's message for any other value.
    """
    value = config.get_optional("events.useEventBus")
    mode = "auto" if value is None else value
    if mode not in USE_EVENT_BUS:
        msg = (
            "Invalid events.useEventBus config, must be one of "
            f"{', '.join(USE_EVENT_BUS)}, got '{mode}'"
        )
        raise ConfigError(msg)
    return str(mode)


def _bus() -> LocalEventBus:
    return LocalEventBus()


def _events(
    bus: LocalEventBus,
    *,
    metadata: PluginMetadataService = inject(core_services.plugin_metadata),
    logger: LoggerService = inject(core_services.logger),
    lifecycle: LifecycleService = inject(core_services.lifecycle),
    config: RootConfigService = inject(core_services.root_config),
    discovery: DiscoveryService = inject(core_services.discovery),
    auth: AuthService = inject(core_services.auth),
) -> EventsService:
    plugin_id = metadata.get_id()
    mode = read_use_event_bus(config)
    hub = None
    if mode != "never":
        hub = HubClient(
            plugin_id,
            discovery=discovery,
            auth=auth,
            logger=logger,
            mode=mode,
            timeout=read_duration_from_config(config, "events.hubTimeout") or _HUB_TIMEOUT,
        )
    service = PluginEventsService(plugin_id, bus, logger, hub)
    lifecycle.add_shutdown_hook(service.stop)
    return service


def events_service_factory_for(ref: ServiceRef[EventsService]) -> ServiceFactory[EventsService]:
    """The default factory of ``ref``: one bus per backend, a service per plugin."""
    return create_service_factory(ref, _events, create_root_context=_bus)


events_service_factory: ServiceFactory[EventsService] = events_service_factory_for(
    events_service_ref
)
"""The default ``events.service``: an in-process bus shared by the backend's plugins,
plus the events hub (plugin ``events``) when ``events.useEventBus`` is not ``never``."""
