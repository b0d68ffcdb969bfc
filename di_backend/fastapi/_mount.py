"""Prepare a FastAPI app (or ``APIRouter``) that a plugin mounts with ``http_router.use``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from fastapi import APIRouter, FastAPI
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from di_backend.fastapi import ErrorResponse
from di_backend.http._error_handler import ANSWERED, error_body
from di_backend.http._errors import HttpError, NotFoundError, status_code_for

if TYPE_CHECKING:
    from di_backend.http._plugin_router import DefaultHttpRouter

__all__ = ["prepare"]

_PREPARED = "di_backend_prepared"
ERROR_RESPONSES = {
    "401": "Missing or invalid credentials (the plugin's auth barrier, or `credentials()`)",
    "403": "The caller's principal type is not allowed here",
    "500": "An unexpected error in the handler",
    "503": "The plugin is starting up or shutting down",
}
"""The error answers every route of a plugin can give, in Backstage's JSON shape."""


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    status = status_code_for(error)
    return JSONResponse(error_body(request.scope, error, status), status_code=status)


def _unmatched(base_path: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    plugin_id = base_path.rsplit("/", 1)[-1]

    async def handle(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 404 and error.detail == "Not Found":
            relative = request.url.path.removeprefix(base_path) or "/"
            found = NotFoundError(
                f"No route for {request.method} {relative} in plugin '{plugin_id}'"
            )
            return JSONResponse(error_body(request.scope, found, 404), status_code=404)
        return await http_exception_handler(request, error)

    return handle


async def _server_error(request: Request, error: Exception) -> JSONResponse:
    request.scope[ANSWERED] = error  # the plugin router logs it once, then ends
    return JSONResponse(error_body(request.scope, error, 500), status_code=500)


def _with_error_responses(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        model = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(cast("dict[str, Any]", model.pop("$defs", {})))
        schemas["ErrorResponse"] = model
        reference = {"$ref": "#/components/schemas/ErrorResponse"}
        for path_item in cast("dict[str, dict[str, Any]]", schema.get("paths", {})).values():
            for operation in path_item.values():
                responses = cast("dict[str, Any]", operation.setdefault("responses", {}))
                for code, description in ERROR_RESPONSES.items():
                    responses.setdefault(
                        code,
                        {
                            "description": description,
                            "content": {"application/json": {"schema": reference}},
                        },
                    )
        app.openapi_schema = schema
        return schema

    object.__setattr__(app, "openapi", openapi)  # replace the bound method on this app


def prepare(app: ASGIApp, router: DefaultHttpRouter) -> tuple[ASGIApp, bool]:
    """Make ``app`` a good citizen of the plugin's router; other apps pass unchanged.

    * an ``APIRouter`` is served by a FastAPI app titled with the plugin id;
    * di_backend's HTTP errors and unexpected errors answer with Backstage's JSON
      body (FastAPI's own 422 for validation errors stays);
    * the OpenAPI document lists those error answers (401, 403, 500, 503) on
      every operation, and says where the plugin is served (``servers``);
    * the OpenAPI and docs URLs are open without credentials (auth policies);
    * a path it has no route for is a 404 (or 405) in di_backend's shape, naming the
      plugin, so the router can hand it requests without matching routes twice.

    Returns the app to mount and whether it answers unmatched paths itself.
    """
    if isinstance(app, APIRouter):
        wrapped = FastAPI(title=router.base_path.rsplit("/", 1)[-1], docs_url=None, redoc_url=None)
        wrapped.include_router(app)
        app = wrapped
    if not isinstance(app, FastAPI):
        return app, False
    if getattr(app.state, _PREPARED, False):
        return app, True
    setattr(app.state, _PREPARED, True)
    app.add_exception_handler(HttpError, _http_error)
    app.add_exception_handler(StarletteHTTPException, _unmatched(router.base_path))
    app.add_exception_handler(Exception, _server_error)
    _with_error_responses(app)
    for url in (app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url):
        if url:
            router.add_auth_policy(path=url, allow="unauthenticated")
    return app, True
