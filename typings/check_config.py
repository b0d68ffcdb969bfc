"""Pins the config getters of ``RootConfigService`` (``core_services.root_config``).

Each getter's return type, and that reading with the wrong getter is a type error
(``x: str = config.get_number("k")``). Type-checked by mypy --strict and pyright
strict, never run; a line ending in a ``type: ignore`` comment with a code is a
mistake both checkers must report on that line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_type

from di_backend import core_services, inject
from di_backend.config import ConfigReader
from di_backend.services import ConfigService, JsonValue, RootConfigService

# --- accepted -------------------------------------------------------------------------


def read(config: RootConfigService = inject(core_services.root_config)) -> None:
    assert_type(config.get("backend"), JsonValue)
    assert_type(config.get(), JsonValue)
    assert_type(config.get_optional("backend"), JsonValue | None)
    assert_type(config.get_string("backend.baseUrl"), str)
    assert_type(config.get_optional_string("backend.baseUrl"), str | None)
    assert_type(config.get_number("backend.listen.port"), float)
    assert_type(config.get_optional_number("backend.listen.port"), float | None)
    assert_type(config.get_boolean("todo.enabled"), bool)
    assert_type(config.get_optional_boolean("todo.enabled"), bool | None)
    assert_type(config.get_config("backend"), ConfigService)
    assert_type(config.get_optional_config("backend"), ConfigService | None)
    assert_type(config.get_config_array("discovery.endpoints"), list[ConfigService])
    assert_type(config.get_optional_config_array("discovery.endpoints"), list[ConfigService] | None)
    assert_type(config.get_string_array("backend.features"), list[str])
    assert_type(config.get_optional_string_array("backend.features"), list[str] | None)
    assert_type(config.has("backend"), bool)
    assert_type(config.keys(), list[str])
    assert_type(config.subscribe(lambda: None), Callable[[], None])

    # An int is a float for the type checker (and get_number keeps an int an int).
    port: float = config.get_number("backend.listen.port")
    host = config.get_optional_string("backend.listen.host") or "0.0.0.0"
    assert_type(host, str)
    for endpoint in config.get_config_array("discovery.endpoints"):
        endpoint.get_string("target")
        endpoint.get_string_array("plugins")
    del port


# The shipped reader implements the Protocol.
reader: RootConfigService = ConfigReader({"backend": {"baseUrl": "http://localhost:7007"}})

# --- rejected -------------------------------------------------------------------------


config = reader
# Reading with the wrong getter type.
text: str = config.get_number("backend.listen.port")  # type: ignore[assignment]
flag: bool = config.get_string("todo.enabled")  # type: ignore[assignment]
port: int = config.get_number("backend.listen.port")  # type: ignore[assignment]
# An optional getter may return None.
base: str = config.get_optional_string("backend.baseUrl")  # type: ignore[assignment]
# A sub-config is not a value.
value: str = config.get_config("backend")  # type: ignore[assignment]
# Keys are strings (dotted paths), not lists of segments.
config.get_string(["backend", "baseUrl"])  # type: ignore[arg-type]
