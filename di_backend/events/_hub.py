"""The ``events`` plugin: the hub that carries events between processes, and webhooks.

Routes, under ``/api/events`` (service credentials, except the webhooks):

``POST /bus/v1/events``
    ``{"event": {"topic", "payload", "metadata"}, "notifiedSubscribers": [...]}``:
    201 when kept, 204 when no other subscriber wants it.
``PUT /bus/v1/subscriptions/<id>``
    ``{"topics": [...]}``: create the subscription (it reads from now on) or
    update its topics; 201.
``GET /bus/v1/subscriptions/<id>/events``
    200 ``{"events": [...]}`` when there are some; otherwise it waits up to
    ``events.notifyTimeoutMs`` (default 55 s) for a notification and answers 202
    with no body, and the client asks again; 404 for an unknown subscription.
``POST /http/<topic>``
    For each topic in ``events.http.topics``: publish the request body (JSON,
    or text) with the request headers as metadata; 202. Unauthenticated, as in
    Backstage.

On PostgreSQL every replica's hub shares the plugin's database; on SQLite the
hub keeps the last 1000 events in memory and says it serves one process only.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router

from di_backend._core_services import core_services
from di_backend._features import BackendPlugin, PluginRegistrationPoints, create_backend_plugin
from di_backend._inject import inject
from di_backend.events._ref import events_service_ref
from di_backend.events._store import EventStore, MemoryEventStore, PostgresEventStore
from di_backend.events._types import EventsService
from di_backend.http._errors import InputError, NotFoundError
from di_backend.services import (
    DatabaseService,
    HttpAuthService,
    HttpRouterService,
    LifecycleService,
    LoggerService,
    RootConfigService,
    SchedulerService,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["events_plugin"]

_MIGRATIONS = "di_backend.events:migrations"
_VERSION_TABLE = "event_bus__alembic_version"
_NOTIFY_TIMEOUT = timedelta(seconds=55)


async def _store(database: DatabaseService, logger: LoggerService) -> EventStore:
    engine: AsyncEngine = await database.get_client()
    if engine.dialect.name != "postgresql":
        logger.warn(
            "The events hub keeps events in memory (the last 1000): plugin 'events' has a "
            f"{engine.dialect.name} database, so it serves this one process only. Configure "
            "PostgreSQL (backend.database.client 'pg') to carry events between processes"
        )
        return MemoryEventStore()
    if not database.migrations.skip:
        from di_backend.database._migrations import run_migrations

        await run_migrations(engine, _MIGRATIONS, version_table=_VERSION_TABLE)
    return PostgresEventStore(engine)


def _subscriber(request: Request) -> str:
    return str(request.path_params["id"])


def _hub_router(
    store: EventStore,
    http_auth: HttpAuthService,
    events: EventsService,
    notify_timeout: float,
    topics: frozenset[str],
) -> Router:
    async def caller(request: Request) -> str:
        credentials = await http_auth.credentials(request, allow=["service"])
        return str(credentials.principal.subject)

    async def publish(request: Request) -> Response:
        created_by = await caller(request)
        body = await _json_object(request)
        event = body.get("event")
        if not isinstance(event, dict):
            raise InputError("The body must have an 'event' object with 'topic' and 'payload'")
        entry = cast("dict[str, object]", event)
        topic = entry.get("topic")
        notified = body.get("notifiedSubscribers", [])
        if not isinstance(topic, str) or not topic:
            raise InputError("The event's 'topic' must be a non-empty string")
        if not isinstance(notified, list) or not all(isinstance(n, str) for n in notified):  # pyright: ignore[reportUnknownVariableType]
            raise InputError("'notifiedSubscribers' must be a list of subscriber ids")
        metadata = entry.get("metadata")
        stored = await store.publish(
            topic=topic,
            data_json=json.dumps(entry.get("payload"), separators=(",", ":")),
            metadata_json=None if metadata is None else json.dumps(metadata),
            notified=cast("list[str]", notified),
            created_by=created_by,
        )
        return Response(status_code=201 if stored else 204)

    async def subscribe(request: Request) -> Response:
        created_by = await caller(request)
        body = await _json_object(request)
        wanted = body.get("topics")
        if (
            not isinstance(wanted, list)
            or not wanted
            or not all(isinstance(t, str) and t for t in wanted)  # pyright: ignore[reportUnknownVariableType]
        ):
            raise InputError("'topics' must be a non-empty list of topics")
        await store.upsert_subscription(_subscriber(request), cast("list[str]", wanted), created_by)
        return Response(status_code=201)

    async def read(request: Request) -> Response:
        await caller(request)
        sub = _subscriber(request)
        # Watch before reading: an event committed right after the read still wakes us.
        async with store.watch(await store.topics_of(sub)) as watch:
            found = await store.read(sub)
            if found is None:
                raise NotFoundError(f"Subscription '{sub}' not found")
            if found:
                return JSONResponse({"events": [event.to_json() for event in found]})
            # Nothing yet: wait for a notification, then answer 202 and let the client
            # read with its next request. Reading here would advance the subscription for
            # a client that may have gone away meanwhile (a stopped replica), losing events.
            await watch.wait(notify_timeout)
        return Response(
            status_code=202,
            headers={"backstage-events-notify-timeout": str(int(notify_timeout * 1000))},
        )

    async def webhook(request: Request) -> Response:
        topic = str(request.path_params["topic"])
        if topic not in topics:
            raise NotFoundError(
                f"No webhook for topic '{topic}': events.http.topics lists "
                + (", ".join(f"'{t}'" for t in sorted(topics)) or "no topics")
            )
        raw = await request.body()
        payload: object
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode("utf-8", errors="replace")
        metadata = dict(request.headers.items())
        await events.publish(topic=topic, event_payload=payload, metadata=metadata)
        return Response(status_code=202)

    return Router(
        [
            Route("/bus/v1/events", publish, methods=["POST"]),
            Route("/bus/v1/subscriptions/{id}", subscribe, methods=["PUT"]),
            Route("/bus/v1/subscriptions/{id}/events", read, methods=["GET"]),
            Route("/http/{topic}", webhook, methods=["POST"]),
        ]
    )


async def _json_object(request: Request) -> dict[str, object]:
    try:
        body: object = await request.json()
    except ValueError as error:
        raise InputError("The request body must be JSON") from error
    if not isinstance(body, dict):
        raise InputError("The request body must be a JSON object")
    return cast("dict[str, object]", body)


def _register(env: PluginRegistrationPoints) -> None:
    async def init(
        *,
        database: DatabaseService = inject(core_services.database),
        logger: LoggerService = inject(core_services.logger),
        http_router: HttpRouterService = inject(core_services.http_router),
        http_auth: HttpAuthService = inject(core_services.http_auth),
        scheduler: SchedulerService = inject(core_services.scheduler),
        lifecycle: LifecycleService = inject(core_services.lifecycle),
        config: RootConfigService = inject(core_services.root_config),
        events: EventsService = inject(events_service_ref),
    ) -> None:
        store = await _store(database, logger)
        lifecycle.add_shutdown_hook(store.aclose)
        timeout_ms = config.get_optional_number("events.notifyTimeoutMs")
        notify_timeout = (
            _NOTIFY_TIMEOUT.total_seconds() if timeout_ms is None else float(timeout_ms) / 1000
        )
        topics = frozenset(config.get_optional_string_array("events.http.topics") or [])
        http_router.use(_hub_router(store, http_auth, events, notify_timeout, topics))
        http_router.add_auth_policy(path="/http", allow="unauthenticated")

        async def cleanup() -> None:
            removed = await store.cleanup()
            if removed:
                logger.debug(f"Event bus cleanup removed {removed} events and subscriptions")

        await scheduler.schedule_task(
            id="event-bus-cleanup",
            fn=cleanup,
            frequency={"seconds": 10},
            timeout={"minutes": 1},
            initial_delay={"seconds": 10},
        )

    env.register_init(init)


events_plugin: BackendPlugin = create_backend_plugin(plugin_id="events", register=_register)
"""The events hub (plugin id ``events``): install it on every backend that shares events."""
