"""Reading the HTTP-related configuration: listen address and durations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from di_backend.errors import ConfigError, ConfigTypeError
from di_backend.services import ConfigService, JsonValue

__all__ = ["DEFAULT_PORT", "ListenOptions", "read_duration", "read_listen_options"]

DEFAULT_PORT = 7007
"""The port a backend listens on when ``backend.listen`` does not say."""

_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_HUMAN_KEYS = {
    "milliseconds": 0.001,
    "seconds": 1.0,
    "minutes": 60.0,
    "hours": 3600.0,
    "days": 86400.0,
}
_SHORT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|sec|s|min|m|h|d)\s*$")
_ISO = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True, slots=True)
class ListenOptions:
    """Where the HTTP server listens.

    Attributes:
        host: the interface; ``""`` means every interface.
        port: the TCP port; ``0`` picks a free one.

    """

    host: str
    port: int


def _parse_duration(value: JsonValue, key: str) -> float:
    if isinstance(value, bool):
        pass
    elif isinstance(value, int | float):
        return float(value) / 1000.0
    elif isinstance(value, str):
        short = _SHORT.match(value)
        if short:
            return float(short.group(1)) * _UNITS[short.group(2)]
        iso = _ISO.match(value.strip())
        if iso and any(iso.groupdict().values()):
            parts = {k: float(v) for k, v in iso.groupdict().items() if v is not None}
            return sum(amount * _HUMAN_KEYS[unit] for unit, amount in parts.items())
    elif isinstance(value, dict) and value:
        total = 0.0
        for unit, amount in value.items():
            if (
                unit not in _HUMAN_KEYS
                or isinstance(amount, bool)
                or not isinstance(amount, int | float)
            ):
                break
            total += float(amount) * _HUMAN_KEYS[unit]
        else:
            return total
    msg = (
        f"Invalid duration at '{key}', got {value!r}; expected milliseconds as a number, "
        "a string like '5s' or 'PT5S', or an object like {seconds: 5}"
    )
    raise ConfigTypeError(msg)


def read_duration(config: ConfigService, key: str, default: timedelta) -> timedelta:
    """Read a duration at ``key`` (ms number, ``"5s"``, ``"PT5S"`` or ``{seconds: 5}``).

    Raises:
        ConfigTypeError: the value is none of those shapes; the message names ``key``.

    """
    value = config.get_optional(key)
    if value is None:
        return default
    return timedelta(seconds=_parse_duration(value, key))


def _port(value: JsonValue, raw: JsonValue) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535:
        return value
    msg = f"Unable to parse listen address {raw}, expected <port> or <host>:<port>"
    raise ConfigError(msg)


def read_listen_options(config: ConfigService) -> ListenOptions:
    """Read ``backend.listen``: ``"<port>"``, ``"<host>:<port>"`` or ``{host, port}``.

    The default is host ``""`` (every interface) and port 7007.

    Raises:
        ConfigError: ``Unable to parse listen address <v>, expected <port> or <host>:<port>``.

    """
    listen = config.get_optional("backend.listen")
    if listen is None:
        return ListenOptions(host="", port=DEFAULT_PORT)
    if isinstance(listen, int) and not isinstance(listen, bool):
        return ListenOptions(host="", port=_port(listen, listen))
    if isinstance(listen, str):
        host, separator, port = listen.rpartition(":")
        if not separator:
            return ListenOptions(host="", port=_port(listen, listen))
        return ListenOptions(host=host.strip("[]"), port=_port(port, listen))
    if isinstance(listen, dict):
        host_value = listen.get("host", "")
        if not isinstance(host_value, str):
            msg = f"Invalid config at 'backend.listen.host', expected a string, got {host_value!r}"
            raise ConfigTypeError(msg)
        port_value = listen.get("port", DEFAULT_PORT)
        return ListenOptions(host=host_value, port=_port(port_value, port_value))
    msg = f"Unable to parse listen address {listen}, expected <port> or <host>:<port>"
    raise ConfigError(msg)
