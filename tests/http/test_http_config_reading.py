"""Reading durations and the listen address from configuration."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from di_backend.config import ObservableConfig
from di_backend.errors import ConfigError, ConfigTypeError
from di_backend.http import ListenOptions, read_duration, read_listen_options
from di_backend.services import JsonValue


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1500, timedelta(milliseconds=1500)),
        ("5s", timedelta(seconds=5)),
        ("250ms", timedelta(milliseconds=250)),
        ("2m", timedelta(minutes=2)),
        ("1h", timedelta(hours=1)),
        ("PT1M30S", timedelta(seconds=90)),
        ({"seconds": 2, "milliseconds": 500}, timedelta(seconds=2.5)),
    ],
)
def test_durations_accept_backstage_shapes(value: JsonValue, expected: timedelta) -> None:
    """Durations are ms numbers, '5s'-style strings, ISO 8601 or {seconds: ...} objects."""
    config = ObservableConfig({"backend": {"pause": value}})
    assert read_duration(config, "backend.pause", timedelta(0)) == expected


def test_missing_durations_use_the_default() -> None:
    """An absent key gives the default."""
    config = ObservableConfig({})
    assert read_duration(config, "backend.pause", timedelta(seconds=7)) == timedelta(seconds=7)


@pytest.mark.parametrize("value", ["soon", True, {"fortnights": 1}, "P"])
def test_bad_durations_name_the_key(value: JsonValue) -> None:
    """A value of no known shape is refused with the key in the message."""
    config = ObservableConfig({"backend": {"pause": value}})
    with pytest.raises(ConfigTypeError, match=re.escape("Invalid duration at 'backend.pause'")):
        read_duration(config, "backend.pause", timedelta(0))


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        (None, ListenOptions("", 7007)),
        (8080, ListenOptions("", 8080)),
        ("8080", ListenOptions("", 8080)),
        ("127.0.0.1:0", ListenOptions("127.0.0.1", 0)),
        ("[::1]:9000", ListenOptions("::1", 9000)),
        ({"host": "0.0.0.0"}, ListenOptions("0.0.0.0", 7007)),
        ({"port": "7010"}, ListenOptions("", 7010)),
    ],
)
def test_listen_addresses_parse(listen: JsonValue, expected: ListenOptions) -> None:
    """backend.listen is a port, 'host:port' or {host, port}; the default port is 7007."""
    data: dict[str, JsonValue] = {} if listen is None else {"backend": {"listen": listen}}
    assert read_listen_options(ObservableConfig(data)) == expected


@pytest.mark.parametrize("listen", ["host:port", "99999", {"port": -1}, [1]])
def test_bad_listen_addresses_are_refused(listen: JsonValue) -> None:
    """An unparseable listen address fails with Backstage's message."""
    config = ObservableConfig({"backend": {"listen": listen}})
    with pytest.raises(ConfigError, match=r"Unable to parse listen address .*, expected <port>"):
        read_listen_options(config)
