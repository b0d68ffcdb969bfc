"""The plugin of the events end-to-end tests, run by ``di-backend start`` processes.

Plugin ``app`` (its replica name from the ``REPLICA`` environment variable):

* subscribes to topic ``todo`` with the ids listed in ``SUBSCRIBE`` (comma-separated,
  e.g. ``shared,audit``), recording what each id received;
* ``GET /api/app/received``: ``{"<id>": [payload, ...]}``, each payload stamped with
  ``received`` (wall-clock seconds);
* ``POST /api/app/publish?n=<count>&start=<first>``: publishes
  ``{"n": i, "by": <replica>, "sent": <wall-clock seconds>}``
  for ``i`` in ``start .. start+count-1`` to topic ``todo``; 503 with the error when the
  hub does not take one.

Every route is open (an auth policy) so the test can call it without a token.
"""

from __future__ import annotations

import os
import time
from typing import cast

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend import PluginRegistrationPoints, core_services, create_backend_plugin, inject
from di_backend.events import EventParams, EventsHubError, EventsService, events_service_ref
from di_backend.services import HttpRouterService

REPLICA = os.environ.get("REPLICA", "?")
SUBSCRIBE = [name for name in os.environ.get("SUBSCRIBE", "").split(",") if name]


def _register(env: PluginRegistrationPoints) -> None:
    async def init(
        events: EventsService = inject(events_service_ref),
        http_router: HttpRouterService = inject(core_services.http_router),
    ) -> None:
        received: dict[str, list[object]] = {name: [] for name in SUBSCRIBE}
        for name in SUBSCRIBE:

            async def on_event(event: EventParams, name: str = name) -> None:
                payload: object = event.event_payload
                if isinstance(payload, dict):  # stamped, for bench/events.py's latencies
                    fields = cast("dict[str, object]", payload)
                    payload = {**fields, "received": time.time()}
                received[name].append(payload)

            await events.subscribe(id=name, topics=["todo"], on_event=on_event)

        async def show(request: Request) -> JSONResponse:
            return JSONResponse(received)

        async def publish(request: Request) -> JSONResponse:
            count = int(request.query_params.get("n", "1"))
            start = int(request.query_params.get("start", "0"))
            try:
                for n in range(start, start + count):
                    await events.publish(
                        topic="todo", event_payload={"n": n, "by": REPLICA, "sent": time.time()}
                    )
            except EventsHubError as error:
                return JSONResponse({"error": str(error)}, status_code=503)
            return JSONResponse({"published": count})

        http_router.use(
            Router([Route("/received", show), Route("/publish", publish, methods=["POST"])])
        )
        http_router.add_auth_policy(path="/received", allow="unauthenticated")
        http_router.add_auth_policy(path="/publish", allow="unauthenticated")

    env.register_init(init)


plugin = create_backend_plugin(plugin_id="app", register=_register)
"""Plugin ``app``: subscribers and a publisher of topic ``todo``."""
