"""The default root logger and plugin logger, built on the standard :mod:`logging` module.

:class:`DefaultRootLogger` ports Backstage's ``WinstonLogger``: fields per logger,
``child(**fields)``, four levels, JSON or coloured "pretty" lines, secret redaction.

Handlers: each root built by :meth:`DefaultRootLogger.create` owns one private
``logging.Logger("di_backend")`` made directly, not by ``logging.getLogger``, so it is
absent from the global registry, does not propagate, holds exactly one ``_LineHandler``
(which owns the stream, the formatter and the redactor) and dies with the root. Any
number of roots can coexist without duplicate handlers or cross-talk. Each line is a
``LogRecord`` with the fields in its ``di_fields`` attribute (passed as ``extra``) and an
exception in ``exc_info``; children share their root's logger, handler and redactions.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final, Literal, Self, TextIO, TypeVar, cast

from di_backend.errors import ConfigError, describe_error
from di_backend.services._logging import LoggerService, LogMeta

__all__ = ["DefaultRootLogger", "plugin_logger", "LogLevel", "LogFormat", "LOG_LEVELS"]

LogLevel = Literal["error", "warn", "info", "debug"]
"""The names of the log levels, most severe first."""

LogFormat = Literal["json", "pretty"]
"""The names of the line formats."""

LOG_LEVELS: Final[tuple[LogLevel, ...]] = ("error", "warn", "info", "debug")
"""All log levels, most severe first."""

_LOG_FORMATS: Final[tuple[LogFormat, ...]] = ("json", "pretty")
_FIELDS: Final = "di_fields"  # the LogRecord attribute that carries a line's fields

_STDLIB_LEVELS: Final[Mapping[LogLevel, int]] = dict(
    zip(LOG_LEVELS, (logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG), strict=True)
)
_LEVEL_NAMES: Final[Mapping[int, LogLevel]] = {no: name for name, no in _STDLIB_LEVELS.items()}
_COLOURS: Final = {"error": "\x1b[31m", "warn": "\x1b[33m", "info": "\x1b[32m", "debug": "\x1b[34m"}
_DIM: Final = "\x1b[2m"
_RESET: Final = "\x1b[0m"
_RESERVED: Final = frozenset({"timestamp", "level", "message"})
_T = TypeVar("_T", bound=str)


class _Redactor:
    """A growing set of secrets and the compiled alternation that replaces them."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, values: Iterable[str]) -> None:
        if isinstance(values, str):
            raise TypeError("redactions must be an iterable of strings, not a single string")
        trimmed = {value.strip() for value in values}
        with self._lock:
            new = {value for value in trimmed if len(value) > 1} - self._values
            if not new:
                return
            self._values |= new
            ordered = sorted(self._values, key=lambda value: (-len(value), value))
            self._pattern = re.compile("|".join(map(re.escape, ordered)))

    def redact(self, text: str) -> str:
        pattern = self._pattern  # one read: add() swaps the pattern atomically
        return text if pattern is None else pattern.sub("***", text)


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with every secret replaced by ``***``, as the root logger does.

    For text that is printed rather than logged (a failed start on stderr, the
    ``di-backend graph`` output). Secrets are trimmed; those of one character or
    less are ignored.
    """
    redactor = _Redactor()
    redactor.add(list(secrets))
    return redactor.redact(text)


def _clean(value: object, redact: Callable[[str], str]) -> object:
    """Return ``value`` as JSON-ready data with every secret in its text replaced."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        items = cast(Mapping[object, object], value).items()
        return {redact(str(key)): _clean(item, redact) for key, item in items}
    if isinstance(value, list | tuple):
        return [_clean(item, redact) for item in cast(Iterable[object], value)]
    if isinstance(value, bool | int | float) and math.isfinite(value):
        text = json.dumps(value)  # a number is kept unless its text holds a secret
        return value if redact(text) == text else redact(text)
    return redact(value if isinstance(value, str) else str(value))


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _level_name(record: logging.LogRecord) -> str:
    return _LEVEL_NAMES.get(record.levelno, record.levelname.lower())


def _record_fields(record: logging.LogRecord) -> dict[str, object]:
    """Return the record's fields plus ``error``/``stack`` for an attached exception."""
    raw: object = getattr(record, _FIELDS, None)
    fields = dict(cast(Mapping[str, object], raw)) if isinstance(raw, Mapping) else {}
    error = record.exc_info[1] if record.exc_info else None
    if error is not None:
        fields["error"] = describe_error(error)
        fields["stack"] = "".join(traceback.format_exception(error)).rstrip()
    return fields


class _Formatter(logging.Formatter):
    def __init__(self, redactor: _Redactor) -> None:
        super().__init__()
        self._redactor = redactor


class _JsonFormatter(_Formatter):
    """One JSON object per line: timestamp, level, message, plugin, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _record_fields(record)
        payload: dict[str, object] = {
            "timestamp": _timestamp(record),
            "level": _level_name(record),
            "message": record.getMessage(),
        }
        if "plugin" in fields:
            payload["plugin"] = fields.pop("plugin")
        for key, value in fields.items():
            payload[f"{key}_" if key in _RESERVED else key] = value
        # Redact every string (keys included) before encoding: the output stays valid
        # JSON, and a secret is caught even where JSON would escape its characters.
        return json.dumps(_clean(payload, self._redactor.redact), separators=(",", ":"))


def _pretty_value(value: object) -> str:
    if isinstance(value, str):
        plain = value and not any(char.isspace() or char in '="' for char in value)
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _PrettyFormatter(_Formatter):
    """``timestamp [plugin] level message key=value ...`` with the level in colour."""

    def format(self, record: logging.LogRecord) -> str:
        redact = self._redactor.redact
        fields = _record_fields(record)
        stack = fields.pop("stack", None)
        prefix = fields.pop("plugin", None)
        if prefix is None:
            prefix = fields.pop("service", None)
        head = _timestamp(record) if prefix is None else f"{_timestamp(record)} [{prefix}]"
        level = _level_name(record)
        pairs = (f"{key}={_pretty_value(_clean(value, redact))}" for key, value in fields.items())
        tail = " ".join([record.getMessage(), *pairs])
        # Redact the plain segments separately so colour codes are never touched.
        line = (
            f"{_DIM}{redact(head)}{_RESET} "
            f"{_COLOURS.get(level, '')}{redact(level)}{_RESET} {redact(tail)}"
        )
        return line if stack is None else f"{line}\n{redact(str(stack))}"


class _LineHandler(logging.Handler):
    """Writes each formatted record as one line to its stream (``sys.stdout`` if none)."""

    def __init__(self, stream: TextIO | None, formatter: logging.Formatter) -> None:
        super().__init__()
        self._stream = stream
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = sys.stdout if self._stream is None else self._stream
            stream.write(line + "\n")
            stream.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


@dataclass(frozen=True, slots=True)
class _Sink:
    """What a root logger and all its children share."""

    logger: logging.Logger
    redactor: _Redactor
    level: LogLevel
    format: LogFormat


def _pick(value: str, source: str, choices: tuple[_T, ...], what: str) -> _T:
    for name in choices:
        if name == value.strip().lower():
            return name
    allowed = ", ".join(f"'{name}'" for name in choices[:-1]) + f" or '{choices[-1]}'"
    message = f"Invalid {source}, '{value}' is not a valid {what}, must be one of {allowed}."
    raise ConfigError(message)


def _resolve_level(level: str | None, config_level: str | None) -> LogLevel:
    env = os.environ.get("LOG_LEVEL", "").strip()
    if level is not None:
        return _pick(level, "level argument", LOG_LEVELS, "logging level")
    if env:
        return _pick(env, "LOG_LEVEL environment variable", LOG_LEVELS, "logging level")
    if config_level is not None:
        return _pick(config_level, "config at backend.logger.level", LOG_LEVELS, "logging level")
    return "info"


def _resolve_format(format: str | None, stream: TextIO) -> LogFormat:
    env = os.environ.get("LOG_FORMAT", "").strip()
    if format is not None:
        return _pick(format, "format argument", _LOG_FORMATS, "log format")
    if env:
        return _pick(env, "LOG_FORMAT environment variable", _LOG_FORMATS, "log format")
    try:
        return "pretty" if stream.isatty() else "json"
    except (AttributeError, ValueError, OSError):  # closed or duck-typed streams
        return "json"


class DefaultRootLogger:
    """The default ``LoggerService``: structured, levelled, redacting, on stdlib ``logging``.

    Build a root with :meth:`create`; derive loggers with :meth:`child`. A child is
    another ``DefaultRootLogger`` that shares its root's stream, level, format and
    redactions and carries the merged fields (the child's fields win).

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> DefaultRootLogger.create(format="json", stream=out).child(plugin="x").info("hi")
        >>> '"message":"hi","plugin":"x"' in out.getvalue()
        True

    """

    __slots__ = ("_fields", "_sink")

    def __init__(self, sink: _Sink, fields: Mapping[str, object]) -> None:
        """Wrap a shared sink; use :meth:`create` for a root and :meth:`child` for the rest."""
        self._sink = sink
        self._fields: Mapping[str, object] = MappingProxyType(dict(fields))

    @classmethod
    def create(
        cls,
        *,
        level: str | None = None,
        config_level: str | None = None,
        format: str | None = None,
        stream: TextIO | None = None,
        redactions: Iterable[str] = (),
        meta: Mapping[str, object] | None = None,
    ) -> Self:
        """Create a root logger with its own private stdlib logger and handler.

        Args:
            level: The minimum level; else ``LOG_LEVEL``; else ``config_level``; else info.
            config_level: The value of ``backend.logger.level`` (loses to ``LOG_LEVEL``).
            format: ``json`` or ``pretty``; else ``LOG_FORMAT``; else ``pretty`` when
                the stream is a TTY and ``json`` otherwise.
            stream: Where lines go; ``None`` writes to the current ``sys.stdout``.
            redactions: Secrets to replace with ``***`` (see :meth:`add_redactions`).
            meta: Fields carried by every line, e.g. ``{"service": "backstage"}``.

        Raises:
            ConfigError: A ``ValueError``: a level or format is not an allowed name. The
                message names the value, its source and the allowed names, e.g.
                ``Invalid config at backend.logger.level, 'loud' is not a valid logging
                level, must be one of 'error', 'warn', 'info' or 'debug'.``
            TypeError: ``redactions`` is a single string.

        """
        level_name = _resolve_level(level, config_level)
        format_name = _resolve_format(format, sys.stdout if stream is None else stream)
        redactor = _Redactor()
        redactor.add(redactions)
        formatter = (_JsonFormatter if format_name == "json" else _PrettyFormatter)(redactor)
        # Deliberately not logging.getLogger(): a private, unregistered logger per root.
        logger = logging.Logger("di_backend", _STDLIB_LEVELS[level_name])
        logger.propagate = False
        logger.addHandler(_LineHandler(stream, formatter))
        return cls(_Sink(logger, redactor, level_name, format_name), meta or {})

    @property
    def level(self) -> LogLevel:
        """The minimum level this logger writes."""
        return self._sink.level

    @property
    def format(self) -> LogFormat:
        """The line format, ``json`` or ``pretty``."""
        return self._sink.format

    @property
    def fields(self) -> Mapping[str, object]:
        """The fields added to every line (read-only)."""
        return self._fields

    @property
    def stdlib_logger(self) -> logging.Logger:
        """The private stdlib logger, shared with the children; add extra handlers here."""
        return self._sink.logger

    def child(self, **fields: object) -> Self:
        """Return a logger that adds ``fields`` to this logger's fields (``fields`` win)."""
        return type(self)(self._sink, {**self._fields, **fields})

    def redact(self, text: str) -> str:
        """Return ``text`` with the tree's secrets replaced by ``***``, as in its lines."""
        return self._sink.redactor.redact(text)

    def add_redactions(self, values: Iterable[str]) -> None:
        """Replace each of ``values`` with ``***`` in every later line of the whole tree.

        Values are trimmed; values of one character or less are ignored. The longest
        secret is matched first.
        """
        self._sink.redactor.add(values)

    def error(self, message: str, meta: LogMeta = None) -> None:
        """Log at error level; ``meta`` is a mapping of fields or an exception."""
        self._log(logging.ERROR, message, meta)

    def warn(self, message: str, meta: LogMeta = None) -> None:
        """Log at warn level; ``meta`` is a mapping of fields or an exception."""
        self._log(logging.WARNING, message, meta)

    def info(self, message: str, meta: LogMeta = None) -> None:
        """Log at info level; ``meta`` is a mapping of fields or an exception."""
        self._log(logging.INFO, message, meta)

    def debug(self, message: str, meta: LogMeta = None) -> None:
        """Log at debug level; ``meta`` is a mapping of fields or an exception."""
        self._log(logging.DEBUG, message, meta)

    def _log(self, levelno: int, message: str, meta: LogMeta) -> None:
        logger = self._sink.logger
        if levelno < logger.level:
            return
        fields: Mapping[str, object] = self._fields
        exc_info = None
        if isinstance(meta, BaseException):
            exc_info = (type(meta), meta, meta.__traceback__)
        elif meta is not None:
            fields = {**fields, **meta}
        # stacklevel 3: findCaller -> _log -> info() -> the caller of info().
        filename, lineno, func, _ = logger.findCaller(stack_info=False, stacklevel=3)
        extra = {_FIELDS: fields}
        record = logger.makeRecord(
            logger.name, levelno, filename, lineno, message, (), exc_info, func, extra
        )
        logger.handle(record)


def plugin_logger(root: LoggerService, plugin_id: str) -> LoggerService:
    """Return the logger of one plugin: ``root.child(plugin=plugin_id)``."""
    return root.child(plugin=plugin_id)
