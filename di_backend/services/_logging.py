"""The logger service interfaces."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeAlias, runtime_checkable

__all__ = ["LogMeta", "LoggerService", "RootLoggerService"]

LogMeta: TypeAlias = "BaseException | Mapping[str, object] | None"
"""Extra data for one log line: an exception or a mapping of fields."""


@runtime_checkable
class LoggerService(Protocol):
    """A structured logger; ``child`` adds fields to every line it writes."""

    def error(self, message: str, meta: LogMeta = None) -> None:
        """Log at error level."""
        ...

    def warn(self, message: str, meta: LogMeta = None) -> None:
        """Log at warning level."""
        ...

    def info(self, message: str, meta: LogMeta = None) -> None:
        """Log at info level."""
        ...

    def debug(self, message: str, meta: LogMeta = None) -> None:
        """Log at debug level."""
        ...

    def child(self, **fields: object) -> LoggerService:
        """Return a logger that adds ``fields`` to every line."""
        ...


RootLoggerService: TypeAlias = LoggerService
"""The backend-wide logger (``core_services.root_logger``)."""
