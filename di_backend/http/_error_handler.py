"""Turn exceptions into Backstage's JSON error responses."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from di_backend.http._errors import error_name_for, status_code_for
from di_backend.services import LoggerService

__all__ = ["ANSWERED", "ErrorHandlerMiddleware", "error_body", "send_error"]

ANSWERED = "di_backend.error_answered"
"""Scope key an inner app sets to the error it already answered (then re-raised)."""


def _request_url(scope: Scope) -> str:
    path = str(scope.get("path", ""))
    query = scope.get("query_string", b"")
    if isinstance(query, bytes) and query:
        return f"{path}?{query.decode('latin-1')}"
    return path


def error_body(scope: Scope, error: BaseException, status: int) -> dict[str, object]:
    """Build ``{"error": {name, message}, "request": {method, url}, "response": {statusCode}}``."""
    return {
        "error": {"name": error_name_for(error), "message": str(error)},
        "request": {"method": str(scope.get("method", "")), "url": _request_url(scope)},
        "response": {"statusCode": status},
    }


async def send_error(scope: Scope, send: Send, error: BaseException) -> None:
    """Answer the request in ``scope`` with the JSON error response for ``error``."""
    status = status_code_for(error)
    if scope["type"] != "http":
        await send({"type": "websocket.close", "code": 1011 if status >= 500 else 1008})
        return
    body = b"" if status == 304 else json.dumps(error_body(scope, error, status)).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json; charset=utf-8"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ErrorHandlerMiddleware:
    """ASGI middleware that answers with a JSON error when the wrapped app raises.

    The status comes from the error (see :func:`status_code_for`); server errors
    (5xx) are logged. An error raised after the response started is logged and
    re-raised, as nothing can be sent any more.
    """

    def __init__(self, app: ASGIApp, *, logger: LoggerService | None = None) -> None:
        """Wrap ``app``; ``logger`` receives the server errors."""
        self._app = app
        self._logger = logger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the wrapped app and translate its exceptions."""
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept"):
                started = True
            await send(message)

        try:
            await self._app(scope, receive, tracking_send)
        except Exception as error:
            if started and scope.get(ANSWERED) is error:
                # An inner app (FastAPI's ServerErrorMiddleware) sent our JSON 500 and
                # re-raised: log it once, as any 5xx, and end here.
                if self._logger is not None:
                    self._logger.error(
                        f"Request failed with status 500: "
                        f"{scope.get('method', '')} {_request_url(scope)}",
                        error,
                    )
                return
            if started:
                if self._logger is not None:
                    self._logger.error(
                        f"Request failed after the response started: "
                        f"{scope.get('method', '')} {_request_url(scope)}",
                        error,
                    )
                raise
            status = status_code_for(error)
            if status >= 500 and self._logger is not None:
                self._logger.error(
                    f"Request failed with status {status}: "
                    f"{scope.get('method', '')} {_request_url(scope)}",
                    error,
                )
            await send_error(scope, send, error)
