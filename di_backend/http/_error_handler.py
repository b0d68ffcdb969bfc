"""Turn exceptions into Backstage's JSON error responses."""

from __future__ import annotations

import json
from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from di_backend.http._errors import error_name_for, status_code_for
from di_backend.services import LoggerService

__all__ = [
    "ANSWERED",
    "ERROR_LOGGER",
    "ErrorHandlerMiddleware",
    "answer_failure",
    "error_body",
    "send_error",
    "start_tracker",
]

ANSWERED = "di_backend.error_answered"
"""Scope key an inner app sets to the error it already answered (then re-raised)."""

ERROR_LOGGER = "di_backend.error_logger"
"""Scope key of the logger for errors raised past that point (a plugin router's).

A plugin router mounted on the root router sets it instead of wrapping itself in a
second handler: the root router's handler then logs the plugin's errors with it.
"""


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


class _StartTracker:
    """A ``send`` that notes whether the response (or websocket) has started."""

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    def __call__(self, message: Message) -> Awaitable[None]:
        # the inner send's awaitable, returned rather than awaited: no coroutine per message
        if message["type"] in _STARTS:
            self.started = True
        return self.send(message)


_STARTS = frozenset(("http.response.start", "websocket.accept"))


def start_tracker(send: Send) -> _StartTracker:
    """The ``send`` to hand on: it notes whether the response has started.

    Nested handlers (the root router's around a plugin router's) share the outer
    tracker when it is the very send they were given: one wrapper per request.
    """
    return send if isinstance(send, _StartTracker) and not send.started else _StartTracker(send)


async def answer_failure(
    scope: Scope,
    send: Send,
    tracker: _StartTracker,
    error: Exception,
    logger: LoggerService | None,
) -> bool:
    """Answer ``error`` with its JSON error response, or log it; ``True``: re-raise it.

    ``send`` is the one the handler was given, ``tracker`` the one it handed on. The
    logger is the scope's :data:`ERROR_LOGGER` if an inner router set one, else
    ``logger``. An error raised after the response started can only be logged, and
    is re-raised.
    """
    logger = scope.get(ERROR_LOGGER, logger)
    started = tracker.started
    if started and scope.get(ANSWERED) is error:
        # An inner app (FastAPI's ServerErrorMiddleware) sent our JSON 500 and
        # re-raised: log it once, as any 5xx, and end here.
        if logger is not None:
            logger.error(
                f"Request failed with status 500: {scope.get('method', '')} {_request_url(scope)}",
                error,
            )
        return False
    if started:
        if logger is not None:
            logger.error(
                f"Request failed after the response started: "
                f"{scope.get('method', '')} {_request_url(scope)}",
                error,
            )
        return True
    status = status_code_for(error)
    if status >= 500 and logger is not None:
        logger.error(
            f"Request failed with status {status}: {scope.get('method', '')} {_request_url(scope)}",
            error,
        )
    await send_error(scope, send, error)
    return False


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
        tracker = start_tracker(send)
        try:
            await self._app(scope, receive, tracker)
        except Exception as error:
            if await answer_failure(scope, send, tracker, error, self._logger):
                raise
