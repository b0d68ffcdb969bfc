"""HTTP errors: raise them from a route and the error handler answers with their status.

::

    DiBackendError
    └── HttpError                           carries ``status_code``
        ├── InputError (ValueError)          400
        ├── AuthenticationError              401
        ├── NotAllowedError (PermissionError) 403
        ├── NotFoundError (LookupError)      404
        ├── ResourceConflictError            409  (Backstage's ``ConflictError``)
        ├── NotModifiedError                 304
        ├── NotImplementedHttpError          501  (Backstage's ``NotImplementedError``)
        └── ServiceUnavailableError          503
    RouterError (ValueError)                 a bad route path or auth policy
"""

from __future__ import annotations

from typing import ClassVar

from di_backend.errors import DiBackendError

__all__ = [
    "AuthenticationError",
    "HttpError",
    "InputError",
    "NotAllowedError",
    "NotFoundError",
    "NotImplementedHttpError",
    "NotModifiedError",
    "ResourceConflictError",
    "RouterError",
    "ServiceUnavailableError",
    "error_name_for",
    "status_code_for",
]


class HttpError(DiBackendError):
    """Base class of errors that map to an HTTP status.

    Attributes:
        status_code: the HTTP status the error handler answers with.
        error_name: the name shown in the JSON error body (Backstage's error name).

    """

    status_code: ClassVar[int] = 500
    error_name: ClassVar[str] = "Error"


class InputError(HttpError, ValueError):
    """Raised when the request is malformed (400)."""

    status_code = 400
    error_name = "InputError"


class AuthenticationError(HttpError):
    """Raised when credentials are missing or invalid (401)."""

    status_code = 401
    error_name = "AuthenticationError"


class NotAllowedError(HttpError, PermissionError):
    """Raised when the caller is known but may not do this (403)."""

    status_code = 403
    error_name = "NotAllowedError"


class NotFoundError(HttpError, LookupError):
    """Raised when the requested thing does not exist (404)."""

    status_code = 404
    error_name = "NotFoundError"

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ResourceConflictError(HttpError):
    """Raised when the request conflicts with the current state (409)."""

    status_code = 409
    error_name = "ConflictError"


class NotModifiedError(HttpError):
    """Raised when the resource has not changed since the caller's copy (304)."""

    status_code = 304
    error_name = "NotModifiedError"


class NotImplementedHttpError(HttpError):
    """Raised when the server does not support the request (501)."""

    status_code = 501
    error_name = "NotImplementedError"


class ServiceUnavailableError(HttpError):
    """Raised when the service cannot answer right now (503)."""

    status_code = 503
    error_name = "ServiceUnavailableError"


_STATUS_BY_NAME = {
    "InputError": 400,
    "AuthenticationError": 401,
    "NotAllowedError": 403,
    "NotFoundError": 404,
    "ConflictError": 409,
    "NotModifiedError": 304,
    "NotImplementedError": 501,
    "ServiceUnavailableError": 503,
}


def status_code_for(error: BaseException) -> int:
    """Return the HTTP status for ``error``, as Backstage's error handler picks it.

    An integer ``status_code`` or ``status`` attribute between 400 and 599 wins (also
    Starlette's ``HTTPException``); then the class name (``NotFoundError`` -> 404, ...);
    anything else is 500.
    """
    if isinstance(error, HttpError):
        return error.status_code
    for attribute in ("status_code", "status"):
        value = getattr(error, attribute, None)
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
            return value
    return _STATUS_BY_NAME.get(type(error).__name__, 500)


def error_name_for(error: BaseException) -> str:
    """Return the name shown in the JSON error body."""
    if isinstance(error, HttpError):
        return error.error_name
    return type(error).__name__


class RouterError(DiBackendError, ValueError):
    """Raised when a route or an auth policy is registered with a bad path or option."""
