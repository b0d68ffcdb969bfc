"""The scheduler's HTTP API on the plugin router (``/.backstage/scheduler/v1``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router

if TYPE_CHECKING:
    from di_backend.scheduler._service import PluginScheduler

__all__ = ["scheduler_router"]

_BASE = "/.backstage/scheduler/v1/tasks"


def scheduler_router(scheduler: PluginScheduler) -> Router:
    """``GET /tasks``, ``POST /tasks/<id>/trigger``, ``POST /tasks/<id>/cancel``."""

    async def list_tasks(_request: Request) -> JSONResponse:
        return JSONResponse({"tasks": await scheduler.describe()})

    async def trigger(request: Request) -> Response:
        await scheduler.trigger_task(str(request.path_params["id"]))
        return Response(status_code=200)

    async def cancel(request: Request) -> Response:
        await scheduler.cancel_task(str(request.path_params["id"]))
        return Response(status_code=200)

    return Router(
        [
            Route(_BASE, list_tasks, methods=["GET"]),
            Route(f"{_BASE}/{{id}}/trigger", trigger, methods=["POST"]),
            Route(f"{_BASE}/{{id}}/cancel", cancel, methods=["POST"]),
        ]
    )
