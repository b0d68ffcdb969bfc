"""Tests for the default root logger and plugin logger."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime
from typing import cast

import pytest

from di_backend.defaults._logging import DefaultRootLogger, plugin_logger
from di_backend.errors import ConfigError
from di_backend.services import LoggerService, LogMeta

Line = dict[str, object]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.delenv("LOG_FORMAT", raising=False)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _json_root(
    out: io.StringIO, level: str | None = "info", redactions: tuple[str, ...] = ()
) -> DefaultRootLogger:
    return DefaultRootLogger.create(level=level, format="json", stream=out, redactions=redactions)


def _lines(out: io.StringIO) -> list[Line]:
    return [cast(Line, json.loads(raw)) for raw in out.getvalue().splitlines()]


def _only_line(out: io.StringIO) -> Line:
    lines = _lines(out)
    assert len(lines) == 1, lines
    return lines[0]


# --- JSON lines and fields -------------------------------------------------------------


def test_json_line_carries_timestamp_level_message_plugin_and_fields() -> None:
    """A JSON line is one object with timestamp, level, message, plugin and the fields."""
    out = io.StringIO()
    _json_root(out).child(plugin="catalog").warn("hello", {"count": 3, "ok": True})
    line = _only_line(out)
    assert list(line) == ["timestamp", "level", "message", "plugin", "count", "ok"]
    assert line["level"] == "warn"
    assert line["message"] == "hello"
    assert line["plugin"] == "catalog"
    assert (line["count"], line["ok"]) == (3, True)
    stamp = datetime.fromisoformat(str(line["timestamp"]))
    assert stamp.utcoffset() is not None
    assert str(line["timestamp"]).endswith("Z")


def test_each_call_writes_exactly_one_json_line() -> None:
    """Every call writes one line, and every line parses as a JSON object on its own."""
    out = io.StringIO()
    root = _json_root(out)
    root.info("first\nsecond")
    root.error("third", {"text": "a\nb"})
    lines = _lines(out)
    assert [line["message"] for line in lines] == ["first\nsecond", "third"]
    assert lines[1]["text"] == "a\nb"


def test_root_meta_is_on_every_line_including_children() -> None:
    """Fields given to ``create(meta=...)`` appear on the root's and the children's lines."""
    out = io.StringIO()
    root = DefaultRootLogger.create(
        level="info", format="json", stream=out, meta={"service": "backstage"}
    )
    root.info("a")
    root.child(plugin="p").info("b")
    assert [line["service"] for line in _lines(out)] == ["backstage", "backstage"]


def test_child_merges_fields_and_child_fields_win() -> None:
    """``child`` adds fields to its parent's, overriding the parent's values for equal keys."""
    out = io.StringIO()
    child = _json_root(out).child(a=1, b=2).child(b=3, c=4)
    child.info("x")
    line = _only_line(out)
    assert (line["a"], line["b"], line["c"]) == (1, 3, 4)
    assert dict(child.fields) == {"a": 1, "b": 3, "c": 4}


def test_child_leaves_parent_fields_unchanged() -> None:
    """Creating a child does not add its fields to the parent's lines."""
    out = io.StringIO()
    parent = _json_root(out).child(a=1)
    parent.child(b=2)
    parent.info("x")
    assert "b" not in _only_line(out)


def test_line_meta_overrides_logger_fields_for_that_line_only() -> None:
    """A mapping passed as ``meta`` wins over the logger's fields for that one line."""
    out = io.StringIO()
    child = _json_root(out).child(a=1)
    child.info("x", {"a": 2})
    child.info("y")
    assert [line["a"] for line in _lines(out)] == [2, 1]


def test_non_serialisable_field_values_become_str() -> None:
    """A field value JSON cannot encode is written as ``str(value)``."""

    class Thing:
        def __str__(self) -> str:
            return "a thing"

    out = io.StringIO()
    _json_root(out).info("x", {"thing": Thing(), "nested": {"set": {1}}, "nan": float("nan")})
    line = _only_line(out)
    assert line["thing"] == "a thing"
    assert line["nested"] == {"set": "{1}"}
    assert line["nan"] == "nan"


def test_fields_named_like_core_keys_are_kept_with_a_suffix() -> None:
    """Fields called timestamp, level or message cannot replace the real ones."""
    out = io.StringIO()
    _json_root(out).info("real", {"message": "fake", "level": "fake"})
    line = _only_line(out)
    assert (line["message"], line["level"]) == ("real", "info")
    assert (line["message_"], line["level_"]) == ("fake", "fake")


# --- levels ----------------------------------------------------------------------------


def _messages_at(level: str) -> list[object]:
    out = io.StringIO()
    root = _json_root(out, level=level)
    root.error("error")
    root.warn("warn")
    root.info("info")
    root.debug("debug")
    return [line["message"] for line in _lines(out)]


def test_info_level_hides_debug() -> None:
    """At level info, debug lines are dropped and the others are written."""
    assert _messages_at("info") == ["error", "warn", "info"]


def test_debug_level_writes_everything() -> None:
    """At level debug, all four levels are written."""
    assert _messages_at("debug") == ["error", "warn", "info", "debug"]


def test_error_level_writes_only_errors() -> None:
    """At level error, only error lines are written."""
    assert _messages_at("error") == ["error"]


def test_level_defaults_to_info() -> None:
    """Without argument, LOG_LEVEL or config level, the level is info."""
    assert DefaultRootLogger.create(stream=io.StringIO()).level == "info"


def test_log_level_env_is_used_without_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    """LOG_LEVEL sets the level when no level argument is given."""
    monkeypatch.setenv("LOG_LEVEL", "debug")
    out = io.StringIO()
    root = _json_root(out, level=None)
    root.debug("shown")
    assert root.level == "debug"
    assert _only_line(out)["message"] == "shown"


def test_level_argument_wins_over_log_level_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit level argument takes precedence over LOG_LEVEL."""
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert DefaultRootLogger.create(level="error", stream=io.StringIO()).level == "error"


def test_log_level_env_wins_over_config_level(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in Backstage, LOG_LEVEL takes precedence over backend.logger.level."""
    monkeypatch.setenv("LOG_LEVEL", "warn")
    root = DefaultRootLogger.create(config_level="debug", stream=io.StringIO())
    assert root.level == "warn"


def test_config_level_is_used_without_env() -> None:
    """backend.logger.level sets the level when neither argument nor LOG_LEVEL is given."""
    assert DefaultRootLogger.create(config_level="debug", stream=io.StringIO()).level == "debug"


def test_empty_log_level_env_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty LOG_LEVEL is ignored rather than rejected."""
    monkeypatch.setenv("LOG_LEVEL", " ")
    assert DefaultRootLogger.create(stream=io.StringIO()).level == "info"


def test_level_names_are_case_insensitive() -> None:
    """Level names are trimmed and compared case-insensitively."""
    assert DefaultRootLogger.create(level=" DEBUG ", stream=io.StringIO()).level == "debug"


def test_invalid_config_level_uses_backstage_wording() -> None:
    """An invalid backend.logger.level raises a ValueError with Backstage's message."""
    with pytest.raises(ValueError, match=r"^Invalid config at backend\.logger\.level") as info:
        DefaultRootLogger.create(config_level="loud", stream=io.StringIO())
    assert isinstance(info.value, ConfigError)
    assert str(info.value) == (
        "Invalid config at backend.logger.level, 'loud' is not a valid logging level, "
        "must be one of 'error', 'warn', 'info' or 'debug'."
    )


def test_invalid_log_level_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid LOG_LEVEL is rejected with a message naming the variable and the value."""
    monkeypatch.setenv("LOG_LEVEL", "verbose")
    with pytest.raises(ValueError, match=r"^Invalid LOG_LEVEL environment variable, 'verbose'"):
        DefaultRootLogger.create(stream=io.StringIO())


def test_invalid_level_argument_lists_the_allowed_levels() -> None:
    """An invalid level argument is rejected with the allowed names in the message."""
    expected = "'warning' is not a valid logging level, must be one of 'error', 'warn', 'info'"
    with pytest.raises(ValueError, match=expected):
        DefaultRootLogger.create(level="warning", stream=io.StringIO())


# --- formats ---------------------------------------------------------------------------


def test_format_is_json_when_stream_is_not_a_tty() -> None:
    """Without argument or LOG_FORMAT, a non-TTY stream gets JSON lines."""
    out = io.StringIO()
    root = DefaultRootLogger.create(level="info", stream=out)
    root.info("x")
    assert root.format == "json"
    assert _only_line(out)["message"] == "x"


def test_format_is_pretty_when_stream_is_a_tty() -> None:
    """Without argument or LOG_FORMAT, a TTY stream gets pretty lines."""
    out = _Tty()
    root = DefaultRootLogger.create(level="info", stream=out)
    root.info("x")
    assert root.format == "pretty"
    assert not out.getvalue().startswith("{")


def test_log_format_env_selects_pretty(monkeypatch: pytest.MonkeyPatch) -> None:
    """LOG_FORMAT=pretty gives pretty lines even on a non-TTY stream."""
    monkeypatch.setenv("LOG_FORMAT", "pretty")
    out = io.StringIO()
    DefaultRootLogger.create(level="info", stream=out).info("hello")
    assert "hello" in out.getvalue()
    assert "\x1b[" in out.getvalue()


def test_log_format_env_selects_json_on_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """LOG_FORMAT=json gives JSON lines even on a TTY stream."""
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert DefaultRootLogger.create(level="info", stream=_Tty()).format == "json"


def test_format_argument_wins_over_log_format_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit format argument takes precedence over LOG_FORMAT."""
    monkeypatch.setenv("LOG_FORMAT", "pretty")
    assert DefaultRootLogger.create(format="json", stream=io.StringIO()).format == "json"


def test_invalid_log_format_env_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown LOG_FORMAT raises a ValueError naming the value and the allowed ones."""
    monkeypatch.setenv("LOG_FORMAT", "xml")
    expected = r"^Invalid LOG_FORMAT environment variable, 'xml' .* 'json' or 'pretty'\.$"
    with pytest.raises(ValueError, match=expected):
        DefaultRootLogger.create(stream=io.StringIO())


def test_pretty_line_has_timestamp_plugin_level_message_and_key_values() -> None:
    """A pretty line reads ``timestamp [plugin] level message key=value`` with colours."""
    out = io.StringIO()
    root = DefaultRootLogger.create(level="info", format="pretty", stream=out)
    root.child(plugin="catalog").info("hello world", {"count": 3, "name": "two words"})
    text = out.getvalue()
    assert text.count("\n") == 1
    plain = text.replace("\x1b[2m", "").replace("\x1b[32m", "").replace("\x1b[0m", "")
    timestamp, rest = plain.rstrip("\n").split(" ", 1)
    assert timestamp.endswith("Z")
    assert rest == '[catalog] info hello world count=3 name="two words"'
    assert "\x1b[32minfo\x1b[0m" in text


def test_pretty_colours_differ_per_level() -> None:
    """Each level is painted with its own ANSI colour in pretty lines."""
    out = io.StringIO()
    root = DefaultRootLogger.create(level="debug", format="pretty", stream=out)
    root.error("e")
    root.warn("w")
    root.debug("d")
    text = out.getvalue()
    for coloured in ("\x1b[31merror", "\x1b[33mwarn", "\x1b[34mdebug"):
        assert coloured in text


def test_json_lines_have_no_colour_codes() -> None:
    """JSON lines never contain ANSI escape sequences."""
    out = io.StringIO()
    _json_root(out).error("x", {"a": 1})
    assert "\x1b" not in out.getvalue()


# --- exceptions ------------------------------------------------------------------------


def _raised(message: str) -> ValueError:
    try:
        raise ValueError(message)
    except ValueError as error:
        return error


def test_exception_meta_gives_error_and_stack_fields() -> None:
    """An exception as meta is logged with its class name, message and traceback."""
    out = io.StringIO()
    _json_root(out).child(plugin="p").error("failed", _raised("boom"))
    line = _only_line(out)
    assert line["message"] == "failed"
    assert line["error"] == "ValueError: boom"
    stack = str(line["stack"])
    assert stack.startswith("Traceback (most recent call last):")
    assert "in _raised" in stack
    assert stack.endswith("ValueError: boom")


def test_exception_meta_in_pretty_prints_the_traceback_after_the_line() -> None:
    """In pretty format the error is a field and the traceback follows the line."""
    out = io.StringIO()
    root = DefaultRootLogger.create(level="info", format="pretty", stream=out)
    root.error("failed", _raised("boom"))
    first, *rest = out.getvalue().splitlines()
    assert first.endswith('failed error="ValueError: boom"')
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "ValueError: boom"


# --- redaction -------------------------------------------------------------------------


def test_redaction_in_message_and_field_values() -> None:
    """A secret is replaced by *** in the message and in (nested) field values."""
    out = io.StringIO()
    root = _json_root(out, redactions=("hunter2",))
    root.info("password is hunter2!", {"token": "xhunter2x", "deep": {"list": ["hunter2"]}})
    line = _only_line(out)
    assert line["message"] == "password is ***!"
    assert line["token"] == "x***x"
    assert line["deep"] == {"list": ["***"]}
    assert "hunter2" not in out.getvalue()


def test_redaction_applies_to_keys_plugin_and_numbers() -> None:
    """Secrets are also replaced in field names, the plugin id and numbers' digits."""
    out = io.StringIO()
    root = _json_root(out, redactions=("s3cr3t", "987654"))
    root.child(plugin="s3cr3t-plugin").info("x", {"s3cr3t": 1, "pin": 987654})
    line = _only_line(out)
    assert line["plugin"] == "***-plugin"
    assert line["***"] == 1
    assert line["pin"] == "***"


def test_redaction_catches_secrets_with_json_escaped_characters() -> None:
    """A secret containing quotes or backslashes is redacted although JSON escapes it."""
    out = io.StringIO()
    _json_root(out, redactions=('pa"ss\\word',)).info('it is pa"ss\\word')
    assert _only_line(out)["message"] == "it is ***"


def test_redaction_in_pretty_lines_leaves_colours_intact() -> None:
    """Pretty lines are redacted too, and a secret matching colour codes does not break them."""
    out = io.StringIO()
    root = DefaultRootLogger.create(
        level="info", format="pretty", stream=out, redactions=("hunter2", "[0m")
    )
    root.info("hunter2", {"key": "hunter2"})
    text = out.getvalue()
    assert "hunter2" not in text
    assert "*** key=***" in text
    assert "\x1b[32minfo\x1b[0m" in text


def test_add_redactions_at_runtime_is_shared_by_the_whole_tree() -> None:
    """Secrets added through any logger are redacted in later lines of root and children."""
    out = io.StringIO()
    root = _json_root(out)
    child = root.child(plugin="p")
    root.info("early abc123")
    child.add_redactions(["abc123"])
    root.info("late abc123")
    child.info("late abc123")
    assert [line["message"] for line in _lines(out)] == [
        "early abc123",
        "late ***",
        "late ***",
    ]


def test_short_redactions_are_skipped_and_values_are_trimmed() -> None:
    """Values of length <= 1 after trimming are ignored; others are trimmed before use."""
    out = io.StringIO()
    _json_root(out, redactions=("a", " ", "", " b ", "  xyz  ")).info("a b xyz  xyz  ")
    assert _only_line(out)["message"] == "a b ***  ***  "


def test_longest_redaction_wins() -> None:
    """Overlapping secrets are matched longest first, leaving no fragment behind."""
    out = io.StringIO()
    _json_root(out, redactions=("abc", "abcdef")).info("abcdef abc")
    assert _only_line(out)["message"] == "*** ***"


def test_redactions_are_literal_not_regex() -> None:
    """Regex metacharacters in a secret are matched literally."""
    out = io.StringIO()
    _json_root(out, redactions=("a.c",)).info("abc a.c")
    assert _only_line(out)["message"] == "abc ***"


def test_add_redactions_rejects_a_single_string() -> None:
    """Passing one string (which would be split into characters) raises TypeError."""
    root = _json_root(io.StringIO())
    with pytest.raises(TypeError, match="not a single string"):
        root.add_redactions("hunter2")


# --- handlers and streams --------------------------------------------------------------


def test_two_roots_on_two_streams_do_not_cross_talk() -> None:
    """Each root writes only to its own stream, once per call."""
    first, second = io.StringIO(), io.StringIO()
    root_a = _json_root(first)
    root_b = _json_root(second)
    root_a.info("a")
    root_b.info("b")
    assert [line["message"] for line in _lines(first)] == ["a"]
    assert [line["message"] for line in _lines(second)] == ["b"]


def test_many_roots_do_not_duplicate_lines_or_touch_global_loggers() -> None:
    """Creating many roots adds no handlers to stdlib loggers and never duplicates a line."""
    named = logging.getLogger("di_backend")
    before = (list(named.handlers), list(logging.getLogger().handlers))
    out = io.StringIO()
    roots = [_json_root(out) for _ in range(20)]
    roots[-1].child(plugin="p").info("once")
    assert len(_lines(out)) == 1
    assert (list(named.handlers), list(logging.getLogger().handlers)) == before
    assert all(len(root.stdlib_logger.handlers) == 1 for root in roots)
    assert len({id(root.stdlib_logger) for root in roots}) == 20


def test_lines_do_not_propagate_to_stdlib_root_logger(caplog: pytest.LogCaptureFixture) -> None:
    """Records stay on the root's private stdlib logger and never reach ``logging`` root."""
    caplog.set_level(logging.DEBUG)
    out = io.StringIO()
    _json_root(out).error("private")
    assert len(_lines(out)) == 1
    assert caplog.records == []


def test_extra_stdlib_handlers_receive_records_with_fields_and_caller() -> None:
    """A handler added to ``stdlib_logger`` gets records carrying fields, exc and caller."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = _json_root(io.StringIO())
    root.stdlib_logger.addHandler(Collect())
    root.child(plugin="p").error("x", _raised("boom"))
    (record,) = records
    assert record.getMessage() == "x"
    assert record.levelno == logging.ERROR
    assert getattr(record, "di_fields", None) == {"plugin": "p"}
    assert record.exc_info is not None
    assert record.exc_info[0] is ValueError
    assert record.pathname == __file__
    assert record.funcName == "test_extra_stdlib_handlers_receive_records_with_fields_and_caller"


def test_without_stream_lines_go_to_current_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """With no stream, lines are written to ``sys.stdout`` as it is at write time."""
    root = DefaultRootLogger.create(level="info", format="json")
    root.info("to stdout")
    assert json.loads(capsys.readouterr().out)["message"] == "to stdout"


# --- protocol and plugin logger --------------------------------------------------------


def test_default_root_logger_satisfies_logger_service() -> None:
    """Roots and children are ``LoggerService`` instances."""
    root = _json_root(io.StringIO())
    assert isinstance(root, LoggerService)
    assert isinstance(root.child(a=1), LoggerService)


def test_plugin_logger_adds_the_plugin_field() -> None:
    """``plugin_logger`` returns the root's child with ``plugin`` set to the plugin id."""
    out = io.StringIO()
    plugin_logger(_json_root(out).child(service="backstage"), "catalog").info("x")
    line = _only_line(out)
    assert (line["plugin"], line["service"]) == ("catalog", "backstage")


def test_plugin_logger_works_with_any_logger_service() -> None:
    """``plugin_logger`` relies only on the protocol's ``child``."""
    seen: list[dict[str, object]] = []

    class Fake:
        def error(self, message: str, meta: LogMeta = None) -> None: ...
        def warn(self, message: str, meta: LogMeta = None) -> None: ...
        def info(self, message: str, meta: LogMeta = None) -> None: ...
        def debug(self, message: str, meta: LogMeta = None) -> None: ...

        def child(self, **fields: object) -> LoggerService:
            seen.append(fields)
            return self

    fake = Fake()
    assert plugin_logger(fake, "search") is fake
    assert seen == [{"plugin": "search"}]
