"""Pins the HTTP-auth and data-service interfaces as a type checker sees them.

``http_auth.credentials(request, allow=["service"])`` gives credentials whose
principal is a service principal (its ``subject`` a ``str``); the data services
return an ``AsyncEngine``, JSON values and ``None``; a bare number is no TTL; a
test backend works with ``async with`` and with ``await``. Type-checked by mypy
--strict and pyright strict, never run; a line ending in a ``type: ignore``
comment with a code is a mistake both checkers must report on that line.
"""

from __future__ import annotations

from datetime import timedelta
from typing import assert_type

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from di_backend import Backend
from di_backend.services import (
    BackstageCredentials,
    BackstagePrincipal,
    BackstageServicePrincipal,
    BackstageUserPrincipal,
    CacheService,
    DatabaseService,
    HttpAuthService,
    JsonValue,
    SchedulerService,
    TaskDescriptor,
)
from di_backend.testing import start_test_backend


async def credentials_follow_allow(http_auth: HttpAuthService, request: Request) -> None:
    service = await http_auth.credentials(request, allow=["service"])
    assert_type(service, BackstageCredentials[BackstageServicePrincipal])
    assert_type(service.principal.subject, str)
    user = await http_auth.credentials(request, allow=["user"])
    assert_type(user, BackstageCredentials[BackstageUserPrincipal])
    anyone = await http_auth.credentials(request)
    assert_type(anyone, BackstageCredentials[BackstagePrincipal])


async def data_services(
    database: DatabaseService, cache: CacheService, scheduler: SchedulerService
) -> None:
    assert_type(await database.get_client(), AsyncEngine)
    assert_type(database.migrations.skip, bool)
    assert_type(await cache.get("k"), JsonValue | None)
    await cache.set("k", {"a": [1, 2]}, ttl=timedelta(seconds=5))
    await cache.set("k", 1, ttl={"minutes": 5})
    await cache.set("k", 1, ttl=5000)  # type: ignore[arg-type]
    assert_type(cache.with_options(default_ttl={"seconds": 30}), CacheService)

    async def refresh() -> None: ...

    await scheduler.schedule_task(
        id="refresh", fn=refresh, frequency={"cron": "*/5 * * * *"}, timeout={"seconds": 30}
    )
    await scheduler.schedule_task(
        id="manual", fn=refresh, frequency={"trigger": "manual"}, timeout=timedelta(minutes=1)
    )
    await scheduler.schedule_task(
        id="bad",
        fn=refresh,
        frequency={"minutes": 1},
        timeout={"seconds": 1},
        scope="cluster",  # type: ignore[arg-type]
    )
    assert_type(await scheduler.get_scheduled_tasks(), list[TaskDescriptor])


async def test_backends_are_awaitable_and_context_managers() -> None:
    assert_type(await start_test_backend(features=[]), Backend)
    async with start_test_backend(features=[]) as backend:
        assert_type(backend, Backend)
