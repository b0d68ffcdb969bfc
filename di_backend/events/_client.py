"""The events hub client of one plugin: publish over HTTP, long-poll each subscription.

As Backstage's ``PluginEventsService``: the hub is the plugin ``events``, found
through discovery and called with the plugin's service token.
``events.useEventBus`` says whether to use it: ``auto`` (the default; a 404
means no hub is installed, and the client stops trying), ``always`` or ``never``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import cast
from urllib.parse import quote

import httpx

from di_backend.errors import describe_error
from di_backend.events._types import EventParams
from di_backend.http._outbound import outbound_client
from di_backend.services import AuthService, DiscoveryService, LoggerService

__all__ = ["USE_EVENT_BUS", "EventsHubError", "HubClient"]

USE_EVENT_BUS = ("never", "always", "auto")
"""The values of ``events.useEventBus``."""

_MAX_BACKOFF = 60.0


class EventsHubError(RuntimeError):
    """The events hub did not take a published event; the message names plugin, topic and URL."""


Deliver = Callable[[EventParams], Awaitable[None]]


class HubClient:
    """Talks to the events hub for one plugin."""

    def __init__(
        self,
        plugin_id: str,
        *,
        discovery: DiscoveryService,
        auth: AuthService,
        logger: LoggerService,
        mode: str = "auto",
        timeout: timedelta = timedelta(seconds=10),
        notify_timeout: timedelta = timedelta(seconds=55),
    ) -> None:
        """Create a client; nothing is sent until the first publish or subscribe."""
        self._plugin_id = plugin_id
        self._discovery = discovery
        self._auth = auth
        self._logger = logger
        self._enabled = mode != "never"
        self._strict = mode == "always"
        self._timeout = timeout.total_seconds()
        self._poll_timeout = notify_timeout.total_seconds() + 15.0
        self._client = outbound_client()
        self._polls: list[asyncio.Task[None]] = []

    @property
    def enabled(self) -> bool:
        """Whether events go to the hub (false after a 404 in ``auto`` mode)."""
        return self._enabled

    async def _headers(self) -> dict[str, str]:
        token = await self._auth.get_plugin_request_token(
            on_behalf_of=await self._auth.get_own_service_credentials(), target_plugin_id="events"
        )
        return {"Authorization": f"Bearer {token.token}"} if token.token else {}

    async def _base(self) -> str:
        return f"{await self._discovery.get_base_url('events')}/bus/v1"

    def _not_found(self, what: str) -> None:
        if self._strict:
            return
        if self._enabled:
            self._logger.warn(
                f"{what} failed with status 404, events backend not found. Future events will "
                "not be persisted."
            )
        self._enabled = False

    async def publish(self, event: EventParams, data_json: str, notified: Sequence[str]) -> None:
        """Send the event to the hub, naming the subscribers that already had it here.

        Raises:
            EventsHubError: the hub is down, answered an error, or did not answer in time.

        """
        if not self._enabled:
            return
        url = f"{await self._base()}/events"
        body = {
            "event": {
                "topic": event.topic,
                "payload": json.loads(data_json),
                "metadata": event.metadata,
            },
            "notifiedSubscribers": list(notified),
        }
        try:
            response = await self._client.post(
                url, json=body, headers=await self._headers(), timeout=self._timeout
            )
        except httpx.HTTPError as error:
            msg = (
                f"Plugin '{self._plugin_id}' could not publish to topic '{event.topic}' through "
                f"the events hub at {url} within {self._timeout:g}s; caused by "
                f"{describe_error(error)}. Subscribers in this process got the event"
            )
            raise EventsHubError(msg) from error
        if response.status_code == 404:
            self._not_found("Event publish request")
            if self._strict:
                msg = (
                    f"The events hub is not installed at {url} (404), and events.useEventBus "
                    "is 'always'"
                )
                raise EventsHubError(msg)
            return
        if response.status_code not in (201, 204):
            msg = (
                f"Plugin '{self._plugin_id}' could not publish to topic '{event.topic}' through "
                f"the events hub at {url}: status {response.status_code} {response.text[:200]}"
            )
            raise EventsHubError(msg)

    def start_polling(self, full_id: str, topics: Sequence[str], deliver: Deliver) -> None:
        """Poll the hub for subscription ``full_id`` in the background until :meth:`aclose`."""
        if not self._enabled:
            return
        task = asyncio.create_task(
            self._poll(full_id, tuple(topics), deliver), name=f"events {full_id}"
        )
        self._polls.append(task)

    async def _poll(self, full_id: str, topics: tuple[str, ...], deliver: Deliver) -> None:
        backoff = 1.0
        registered = False
        failing = False
        while self._enabled:
            try:
                base = f"{await self._base()}/subscriptions/{quote(full_id, safe='')}"
                if not registered:
                    response = await self._client.put(
                        base,
                        json={"topics": list(topics)},
                        headers=await self._headers(),
                        timeout=self._timeout,
                    )
                    if response.status_code == 404:
                        self._not_found(f'Subscription "{full_id}" request')
                        if not self._strict:
                            return
                    response.raise_for_status()
                    registered = True
                response = await self._client.get(
                    f"{base}/events", headers=await self._headers(), timeout=self._poll_timeout
                )
                if response.status_code == 404:
                    registered = False  # the hub forgot the subscription: create it again
                    continue
                response.raise_for_status()
                if failing:
                    self._logger.info(f'Subscription "{full_id}" reconnected to the events hub')
                    failing = False
                backoff = 1.0
                if response.status_code == 200:
                    for item in _events(response):
                        await deliver(item)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not failing:
                    self._logger.warn(
                        f'Poll failed for subscription "{full_id}", retrying in '
                        f"{int(backoff * 1000)}ms; caused by {describe_error(error)}"
                    )
                failing = True
                registered = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)

    async def aclose(self) -> None:
        """Stop every poll and close the HTTP client."""
        polls, self._polls = self._polls, []
        for task in polls:
            task.cancel()
        for task in polls:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()


def _events(response: httpx.Response) -> list[EventParams]:
    body: object = response.json()
    items = body.get("events") if isinstance(body, dict) else None  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    found: list[EventParams] = []
    for item in cast("list[object]", items if isinstance(items, list) else []):
        if isinstance(item, dict):
            entry = cast("dict[str, object]", item)
            metadata = entry.get("metadata")
            found.append(
                EventParams(
                    topic=str(entry.get("topic")),
                    event_payload=entry.get("payload"),
                    metadata=cast("dict[str, str]", metadata)
                    if isinstance(metadata, dict)
                    else None,
                )
            )
    return found
