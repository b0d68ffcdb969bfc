"""The plugin the replica tests run in several ``di-backend start`` processes.

Plugin ``ticker``: its migrations, a global one-second task ``tick``, a manual
global task ``hold`` that runs for a minute (to be killed), a route that mints
a service token and one that says who called. Each run is recorded in the
plugin's database with the replica's name (``$REPLICA``).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend import PluginRegistrationPoints, core_services, create_backend_plugin, inject
from di_backend.database import run_migrations
from di_backend.services import (
    AuthService,
    DatabaseService,
    HttpAuthService,
    HttpRouterService,
    SchedulerService,
)

REPLICA = os.environ.get("REPLICA", "?")
MIGRATIONS = str(Path(__file__).parent / "replica_migrations")
NOW = "extract(epoch from clock_timestamp())"


def register(env: PluginRegistrationPoints) -> None:
    """Register the ticker plugin."""

    async def init(
        database: DatabaseService = inject(core_services.database),
        scheduler: SchedulerService = inject(core_services.scheduler),
        auth: AuthService = inject(core_services.auth),
        http_auth: HttpAuthService = inject(core_services.http_auth),
        http_router: HttpRouterService = inject(core_services.http_router),
    ) -> None:
        engine = await database.get_client()
        await run_migrations(engine, MIGRATIONS)

        async def record(task: str) -> None:
            async with engine.begin() as connection:
                await connection.execute(
                    text(f"INSERT INTO runs (task, replica, at) VALUES (:t, :r, {NOW})"),
                    {"t": task, "r": REPLICA},
                )

        async def tick() -> None:
            await record("tick")

        async def hold() -> None:
            await record("hold")
            await asyncio.sleep(60)

        await scheduler.schedule_task(
            id="tick", fn=tick, frequency={"seconds": 1}, timeout={"seconds": 5}
        )
        await scheduler.schedule_task(
            id="hold", fn=hold, frequency={"trigger": "manual"}, timeout={"seconds": 2}
        )

        async def token(_request: Request) -> JSONResponse:
            issued = await auth.get_plugin_request_token(
                on_behalf_of=await auth.get_own_service_credentials(), target_plugin_id="ticker"
            )
            return JSONResponse({"token": issued.token, "replica": REPLICA})

        async def whoami(request: Request) -> JSONResponse:
            credentials = await http_auth.credentials(request, allow=["service"])
            return JSONResponse({"subject": credentials.principal.subject, "replica": REPLICA})

        http_router.use(Router([Route("/token", token), Route("/whoami", whoami)]))
        http_router.add_auth_policy(path="/token", allow="unauthenticated")

    env.register_init(init)


plugin = create_backend_plugin(plugin_id="ticker", register=register)
