"""FastAPI in plugins: dependencies for the caller's credentials and the plugin's services.

Install the extra (``pip install 'di_backend[fastapi]'``); mount a ``FastAPI`` app
or an ``APIRouter`` with ``http_router.use(app)``. Its routes are served under
``/api/<pluginId>`` behind the plugin's lifecycle gate, credentials barrier and
auth policies, and its OpenAPI document at ``/api/<pluginId>/openapi.json``.

``credentials(allow=[...])`` and ``service(ref)`` are FastAPI dependencies::

    @app.get("/todos")
    async def list_todos(
        caller: Annotated[
            BackstageCredentials[BackstageServicePrincipal],
            Depends(credentials(allow=["service"])),
        ],
        store: Annotated[TodoStore, Depends(service(todo_store))],
    ) -> list[str]: ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, TypeVar, cast, overload

from pydantic import BaseModel
from starlette.requests import Request

from di_backend._refs import ServiceRef
from di_backend.errors import DiBackendError, describe_error
from di_backend.http._plugin_router import REQUEST_CONTEXT, PluginRequestContext
from di_backend.services import (
    BackstageCredentials,
    BackstagePrincipal,
    BackstageServicePrincipal,
    BackstageUserPrincipal,
    PrincipalType,
)

__all__ = ["ErrorResponse", "ServiceUnavailableInRouteError", "credentials", "service"]

T = TypeVar("T")


class ServiceUnavailableInRouteError(DiBackendError, RuntimeError):
    """``service(ref)`` could not give the plugin's instance of ``ref`` (a 500: a wiring bug)."""


class _ErrorDetail(BaseModel):
    name: str
    message: str


class _RequestDetail(BaseModel):
    method: str
    url: str


class _ResponseDetail(BaseModel):
    statusCode: int


class ErrorResponse(BaseModel):
    """Backstage's JSON error body, as every di_backend error answer has it."""

    error: _ErrorDetail
    request: _RequestDetail
    response: _ResponseDetail


def _context(request: Request, what: str) -> PluginRequestContext:
    context = request.scope.get(REQUEST_CONTEXT)
    if not isinstance(context, PluginRequestContext):
        msg = (
            f"{what} works in the routes of a plugin: mount the FastAPI app with "
            "http_router.use(app) (it was called outside a plugin's router)"
        )
        raise RuntimeError(msg)
    return context


@overload
def credentials(
    *, allow: Sequence[Literal["service"]], allow_limited_access: bool = False
) -> Callable[[Request], Awaitable[BackstageCredentials[BackstageServicePrincipal]]]: ...


@overload
def credentials(
    *, allow: Sequence[Literal["user"]], allow_limited_access: bool = False
) -> Callable[[Request], Awaitable[BackstageCredentials[BackstageUserPrincipal]]]: ...


@overload
def credentials(
    *, allow: Sequence[PrincipalType] | None = None, allow_limited_access: bool = False
) -> Callable[[Request], Awaitable[BackstageCredentials[BackstagePrincipal]]]: ...


def credentials(
    *, allow: Sequence[PrincipalType] | None = None, allow_limited_access: bool = False
) -> Callable[[Request], Awaitable[BackstageCredentials[BackstagePrincipal]]]:
    """A FastAPI dependency: the caller's credentials through the plugin's ``http_auth``.

    As ``http_auth.credentials(request, allow=...)``: a principal type not in
    ``allow`` is a 403, missing or bad credentials a 401, both with Backstage's
    JSON error body. The result is typed by ``allow`` (``["service"]`` gives
    service credentials, ``["user"]`` user credentials).
    """
    allowed = None if allow is None else tuple(allow)

    async def dependency(request: Request) -> BackstageCredentials[BackstagePrincipal]:
        http_auth = _context(request, "credentials()").http_auth
        if http_auth is None:
            msg = "credentials() needs the plugin's http_auth; this router was made without one"
            raise RuntimeError(msg)
        return await http_auth.credentials(
            request, allow=allowed, allow_limited_access=allow_limited_access
        )

    label = "any" if allowed is None else ",".join(allowed)
    dependency.__name__ = f"credentials_{label.replace(',', '_').replace('-', '_')}"
    return dependency


def service(ref: ServiceRef[T]) -> Callable[[Request], Awaitable[T]]:
    """A FastAPI dependency: the instance of ``ref`` that the serving plugin has.

    A ref the plugin did not declare is resolved for it, as a dependency of its
    init would be; a ref nothing provides fails with the backend's message
    naming the plugin and the ref.
    """

    async def dependency(request: Request) -> T:
        context = _context(request, f"service({ref.id})")
        if context.resolve is None:
            msg = (
                f"service({ref.id}) needs the backend's services; plugin "
                f"'{context.plugin_id}''s router was made outside a backend"
            )
            raise RuntimeError(msg)
        try:
            return cast("T", await context.resolve(ref))
        except Exception as error:
            msg = (
                f"Plugin '{context.plugin_id}' asked for service '{ref.id}' in a route "
                f"(di_backend.fastapi.service), and it cannot be had: {describe_error(error)}"
            )
            raise ServiceUnavailableInRouteError(msg) from error

    dependency.__name__ = f"service_{ref.id.replace('.', '_')}"
    return dependency
