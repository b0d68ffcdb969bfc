"""``MockLogger``: a logger that keeps every line it is given, for assertions."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal, TypeAlias, get_args

from di_backend.errors import ConfigError, describe_error
from di_backend.services import LogMeta

__all__ = ["LogEntry", "LogLevel", "MockLogLevel", "MockLogger"]

LogLevel: TypeAlias = Literal["error", "warn", "info", "debug"]
"""The level of one log line, most severe first."""

MockLogLevel: TypeAlias = Literal["none", "error", "warn", "info", "debug"]
"""Which lines a :class:`MockLogger` also prints: ``"none"`` prints nothing."""

_PRINT_LEVELS: Final[tuple[MockLogLevel, ...]] = get_args(MockLogLevel)
_SEVERITY: Final[Mapping[str, int]] = {name: rank for rank, name in enumerate(_PRINT_LEVELS)}


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line a :class:`MockLogger` (or one of its children) was given.

    Attributes:
        level: ``"error"``, ``"warn"``, ``"info"`` or ``"debug"``.
        message: the message as passed.
        fields: the logger's fields merged with a mapping passed as ``meta``.
        error: the exception passed as ``meta``, if any.
    """

    level: LogLevel
    message: str
    fields: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    error: BaseException | None = None


def _check_level(level: str) -> MockLogLevel:
    for name in _PRINT_LEVELS:
        if name == level:
            return name
    allowed = ", ".join(f"'{name}'" for name in _PRINT_LEVELS[:-1])
    msg = f"Invalid log level '{level}', must be one of {allowed} or '{_PRINT_LEVELS[-1]}'"
    raise ConfigError(msg)


class MockLogger:
    """An in-memory ``LoggerService``: every line lands in :attr:`records`.

    ``child(**fields)`` returns a logger that adds ``fields`` and shares the
    record list (and the print level) with its parent, so a plugin's logger
    made from a mock root logger records into the root's list. Every line is
    recorded whatever ``level`` says; ``level`` only decides which lines are
    also printed to ``sys.stderr`` (pytest shows them for a failing test).

    Args:
        level: ``"none"`` (default, print nothing), ``"error"``, ``"warn"``,
            ``"info"`` or ``"debug"``.

    Raises:
        ConfigError: ``level`` is not one of those names.

    Example:
        >>> logger = MockLogger()
        >>> logger.child(plugin="todo").info("started", {"count": 2})
        >>> logger.records[0].fields
        mappingproxy({'plugin': 'todo', 'count': 2})
    """

    __slots__ = ("_fields", "_level", "_records")

    def __init__(self, *, level: MockLogLevel = "none") -> None:
        self._level: MockLogLevel = _check_level(level)
        self._fields: Mapping[str, object] = MappingProxyType({})
        self._records: list[LogEntry] = []

    def __repr__(self) -> str:
        return f"MockLogger(level={self._level!r}, fields={dict(self._fields)!r})"

    @property
    def level(self) -> MockLogLevel:
        """The print level shared by this logger and its children."""
        return self._level

    @property
    def fields(self) -> Mapping[str, object]:
        """The fields this logger adds to every line (read-only)."""
        return self._fields

    @property
    def records(self) -> list[LogEntry]:
        """Every line logged through this logger, its parent or any child, oldest first."""
        return self._records

    def messages(self, level: LogLevel | None = None) -> list[str]:
        """Return the recorded messages, optionally only those of one level."""
        return [r.message for r in self._records if level is None or r.level == level]

    def child(self, **fields: object) -> MockLogger:
        """Return a logger that adds ``fields`` (they win) and shares the records."""
        child = MockLogger.__new__(MockLogger)
        child._level = self._level
        child._fields = MappingProxyType({**self._fields, **fields})
        child._records = self._records
        return child

    def error(self, message: str, meta: LogMeta = None) -> None:
        """Record ``message`` at error level."""
        self._log("error", message, meta)

    def warn(self, message: str, meta: LogMeta = None) -> None:
        """Record ``message`` at warn level."""
        self._log("warn", message, meta)

    def info(self, message: str, meta: LogMeta = None) -> None:
        """Record ``message`` at info level."""
        self._log("info", message, meta)

    def debug(self, message: str, meta: LogMeta = None) -> None:
        """Record ``message`` at debug level."""
        self._log("debug", message, meta)

    def _log(self, level: LogLevel, message: str, meta: LogMeta) -> None:
        error: BaseException | None = None
        fields = self._fields
        if isinstance(meta, BaseException):
            error = meta
        elif meta is not None:
            fields = MappingProxyType({**fields, **meta})
        entry = LogEntry(level, message, fields, error)
        self._records.append(entry)
        if _SEVERITY[level] <= _SEVERITY[self._level]:
            pairs = "".join(f" {key}={value!r}" for key, value in fields.items())
            cause = "" if error is None else f" error={describe_error(error)!r}"
            print(f"{level}: {message}{pairs}{cause}", file=sys.stderr)
