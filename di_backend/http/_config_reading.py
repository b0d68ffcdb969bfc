"""Reading the HTTP-related configuration: listen address and durations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from di_backend.config._durations import parse_config_duration as _parse_duration
from di_backend.config._durations import seconds_to_timedelta
from di_backend.errors import ConfigError, ConfigTypeError
from di_backend.services import ConfigService, JsonValue

__all__ = ["DEFAULT_PORT", "ListenOptions", "read_duration", "read_listen_options"]

DEFAULT_PORT = 7007
"""The port a backend listens on when ``backend.listen`` does not say."""


@dataclass(frozen=True, slots=True)
class ListenOptions:
    """Where the HTTP server listens.

    Attributes:
        host: the interface; ``""`` means every interface.
        port: the TCP port; ``0`` picks a free one.

    """

    host: str
    port: int


def read_duration(config: ConfigService, key: str, default: timedelta) -> timedelta:
    """Read a duration at ``key`` (ms number, ``"5s"``, ``"PT5S"`` or ``{seconds: 5}``).

    Raises:
        ConfigTypeError: the value is none of those shapes; the message names ``key``.

    """
    value = config.get_optional(key)
    if value is None:
        return default
    return seconds_to_timedelta(_parse_duration(value, key), key)


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
