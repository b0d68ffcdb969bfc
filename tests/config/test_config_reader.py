"""Tests for di_backend.config.ConfigReader: typed getters, copies and error messages."""

from __future__ import annotations

import re

import pytest

from di_backend.config import ConfigReader
from di_backend.errors import ConfigError, ConfigKeyError, ConfigTypeError
from di_backend.services import ConfigService, JsonValue

DATA: dict[str, JsonValue] = {
    "backend": {
        "baseUrl": "http://localhost:7007",
        "listen": {"port": 7007, "host": ""},
        "portString": "7007",
        "ratio": 0.5,
        "ratioString": " 1.5 ",
        "enabled": True,
        "enabledString": "FALSE",
        "flag": "yes",
        "tags": ["a", "b"],
        "endpoints": [{"target": "x"}, {"target": 5}],
    },
    "list": [1, 2],
}


@pytest.fixture
def reader() -> ConfigReader:
    return ConfigReader(DATA, "app-config.yaml")


def test_reader_is_a_config_service(reader: ConfigReader) -> None:
    """A ConfigReader satisfies the ConfigService protocol, statically and at runtime."""
    service: ConfigService = reader
    assert isinstance(service, ConfigService)


def test_get_returns_value_and_whole_tree(reader: ConfigReader) -> None:
    """get(key) returns the value at a dotted key, get() the whole tree."""
    assert reader.get("backend.listen") == {"port": 7007, "host": ""}
    assert reader.get() == DATA
    assert reader.get_optional() == DATA


def test_get_missing_names_key_and_source(reader: ConfigReader) -> None:
    """A missing required value names the full key and the source."""
    message = "Missing required config value at 'backend.nope' in 'app-config.yaml'"
    with pytest.raises(ConfigKeyError, match=re.escape(message)):
        reader.get("backend.nope")
    assert reader.get_optional("backend.nope") is None


def test_missing_key_error_renders_as_plain_sentence(reader: ConfigReader) -> None:
    """str() of a ConfigKeyError is the sentence, without KeyError's quotes."""
    with pytest.raises(ConfigKeyError) as info:
        reader.get_string("nope")
    assert str(info.value) == "Missing required config value at 'nope' in 'app-config.yaml'"


def test_default_context_is_mock_config() -> None:
    """An in-memory reader without a context calls its source 'mock-config'."""
    with pytest.raises(ConfigKeyError, match=re.escape("at 'a' in 'mock-config'")):
        ConfigReader().get("a")


def test_values_are_copies(reader: ConfigReader) -> None:
    """Mutating a returned dict or list does not change the configuration."""
    listen = reader.get("backend.listen")
    assert isinstance(listen, dict)
    listen["port"] = 1
    tags = reader.get_string_array("backend.tags")
    tags.append("c")
    whole = reader.get()
    assert isinstance(whole, dict)
    whole.clear()
    assert reader.get_number("backend.listen.port") == 7007
    assert reader.get_string_array("backend.tags") == ["a", "b"]


def test_constructor_copies_input() -> None:
    """Mutating the mapping given to the constructor does not change the reader."""
    data: dict[str, JsonValue] = {"a": {"b": 1}}
    reader = ConfigReader(data)
    inner = data["a"]
    assert isinstance(inner, dict)
    inner["b"] = 2
    assert reader.get_number("a.b") == 1


def test_get_string(reader: ConfigReader) -> None:
    """get_string returns strings and get_optional_string returns None when missing."""
    assert reader.get_string("backend.baseUrl") == "http://localhost:7007"
    assert reader.get_optional_string("backend.nope") is None


def test_get_string_wrong_type(reader: ConfigReader) -> None:
    """A number where a string is wanted gives Backstage's invalid-type message."""
    message = (
        "Invalid type in config for key 'backend.listen.port' in 'app-config.yaml', "
        "got number, wanted string"
    )
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        reader.get_string("backend.listen.port")


def test_get_string_rejects_empty_string(reader: ConfigReader) -> None:
    """An empty string is not a string value, as in Backstage ('empty-string')."""
    with pytest.raises(ConfigTypeError, match=re.escape("got empty-string, wanted string")):
        reader.get_optional_string("backend.listen.host")


def test_get_string_missing(reader: ConfigReader) -> None:
    """get_string on a missing key raises ConfigKeyError with the full key."""
    with pytest.raises(ConfigKeyError, match=re.escape("at 'backend.title' in")):
        reader.get_string("backend.title")


def test_get_number_keeps_int_and_float(reader: ConfigReader) -> None:
    """An int stays an int and a float stays a float."""
    port = reader.get_number("backend.listen.port")
    assert port == 7007
    assert type(port) is int
    assert reader.get_number("backend.ratio") == 0.5


def test_get_number_converts_numeric_strings(reader: ConfigReader) -> None:
    """Numeric strings are converted, integers to int, others to float."""
    port = reader.get_number("backend.portString")
    assert port == 7007
    assert type(port) is int
    assert reader.get_optional_number("backend.ratioString") == 1.5


def test_get_number_rejects_boolean(reader: ConfigReader) -> None:
    """A boolean is not a number."""
    message = (
        "Invalid type in config for key 'backend.enabled' in 'app-config.yaml', "
        "got boolean, wanted number"
    )
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        reader.get_number("backend.enabled")


@pytest.mark.parametrize("text", ["abc", "", "1_000", "nan", "inf", "0x10", "1e400"])
def test_get_number_rejects_non_numeric_strings(text: str) -> None:
    """A string that is not a finite decimal number gives Backstage's convert message."""
    reader = ConfigReader({"a": {"port": text}}, "app-config.yaml")
    message = "Unable to convert config value for key 'a.port' in 'app-config.yaml' to a number"
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        reader.get_number("a.port")


def test_get_number_missing_and_optional(reader: ConfigReader) -> None:
    """get_number raises for a missing key, get_optional_number returns None."""
    with pytest.raises(ConfigKeyError, match=re.escape("at 'backend.x'")):
        reader.get_number("backend.x")
    assert reader.get_optional_number("backend.x") is None


def test_get_boolean(reader: ConfigReader) -> None:
    """Booleans and the strings 'true'/'false' (any case) are booleans."""
    assert reader.get_boolean("backend.enabled") is True
    assert reader.get_boolean("backend.enabledString") is False
    assert ConfigReader({"a": " True "}).get_boolean("a") is True
    assert reader.get_optional_boolean("backend.none") is None


def test_get_boolean_rejects_other_strings(reader: ConfigReader) -> None:
    """Strings other than true/false cannot be converted to a boolean."""
    message = (
        "Unable to convert config value for key 'backend.flag' in 'app-config.yaml' to a boolean"
    )
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        reader.get_boolean("backend.flag")


def test_get_boolean_rejects_numbers(reader: ConfigReader) -> None:
    """A number is not a boolean."""
    with pytest.raises(ConfigTypeError, match=re.escape("got number, wanted boolean")):
        reader.get_boolean("backend.listen.port")


def test_get_boolean_missing(reader: ConfigReader) -> None:
    """get_boolean on a missing key raises ConfigKeyError."""
    with pytest.raises(ConfigKeyError, match=re.escape("at 'backend.debug'")):
        reader.get_boolean("backend.debug")


def test_sub_config_errors_show_full_key(reader: ConfigReader) -> None:
    """Errors from a sub-config name the full key, not the relative one."""
    listen = reader.get_config("backend").get_config("listen")
    assert listen.prefix == "backend.listen"
    with pytest.raises(ConfigTypeError, match=re.escape("key 'backend.listen.port' in")):
        listen.get_string("port")
    with pytest.raises(ConfigKeyError, match=re.escape("at 'backend.listen.nope' in")):
        listen.get("nope")


def test_get_config_missing_and_optional(reader: ConfigReader) -> None:
    """get_config raises for a missing key and get_optional_config returns None."""
    with pytest.raises(ConfigKeyError, match=re.escape("at 'backend.auth' in")):
        reader.get_config("backend.auth")
    assert reader.get_optional_config("backend.auth") is None


def test_get_config_on_scalar(reader: ConfigReader) -> None:
    """get_config on a non-object value wants an object."""
    message = (
        "Invalid type in config for key 'backend.baseUrl' in 'app-config.yaml', "
        "got string, wanted object"
    )
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        reader.get_config("backend.baseUrl")


def test_reading_through_a_scalar_names_the_scalar(reader: ConfigReader) -> None:
    """A key below a non-object value names the non-object key."""
    message = (
        "Invalid type in config for key 'backend.baseUrl' in 'app-config.yaml', "
        "got string, wanted object"
    )
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        reader.get_optional("backend.baseUrl.x")
    with pytest.raises(ConfigTypeError, match=re.escape("key 'list' in")):
        reader.has("list.x")


def test_get_config_array(reader: ConfigReader) -> None:
    """Array elements are sub-configs whose keys include the index."""
    first, second = reader.get_config_array("backend.endpoints")
    assert first.get_string("target") == "x"
    message = (
        "Invalid type in config for key 'backend.endpoints[1].target' in 'app-config.yaml', "
        "got number, wanted string"
    )
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        second.get_string("target")
    assert reader.get_optional_config_array("backend.none") is None


def test_get_config_array_errors(reader: ConfigReader) -> None:
    """A non-list, an element that is not an object, and a missing key are errors."""
    with pytest.raises(ConfigTypeError, match=re.escape("got string, wanted object-array")):
        reader.get_config_array("backend.baseUrl")
    message = (
        "Invalid type in config for key 'backend.tags[0]' in 'app-config.yaml', "
        "got string, wanted object-array"
    )
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        reader.get_config_array("backend.tags")
    with pytest.raises(ConfigKeyError, match=re.escape("at 'backend.none' in")):
        reader.get_config_array("backend.none")


def test_get_string_array(reader: ConfigReader) -> None:
    """get_string_array returns the strings; the optional form returns None when missing."""
    assert reader.get_string_array("backend.tags") == ["a", "b"]
    assert reader.get_optional_string_array("backend.none") is None
    with pytest.raises(ConfigKeyError, match=re.escape("at 'backend.none' in")):
        reader.get_string_array("backend.none")


def test_get_string_array_errors(reader: ConfigReader) -> None:
    """A non-list and a non-string element give invalid-type errors naming the element."""
    with pytest.raises(ConfigTypeError, match=re.escape("got string, wanted string-array")):
        reader.get_string_array("backend.baseUrl")
    message = (
        "Invalid type in config for key 'list[0]' in 'app-config.yaml', "
        "got number, wanted string-array"
    )
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        reader.get_string_array("list")


def test_has_and_keys(reader: ConfigReader) -> None:
    """has() reports whether a value is set; keys() lists this level in order."""
    assert reader.has("backend.listen.port")
    assert not reader.has("backend.listen.nope")
    assert not reader.has("nope.deeper")
    assert reader.keys() == ["backend", "list"]
    assert reader.get_config("backend.listen").keys() == ["port", "host"]


@pytest.mark.parametrize(
    "key",
    ["", "a..b", ".a", "a.", "1abc", "a b", "a__b", "a-", "a\n", "a.b\n", "\u212ab", "\u017f"],
)
def test_invalid_keys(reader: ConfigReader, key: str) -> None:
    """Keys with empty or malformed parts are rejected with the key named."""
    with pytest.raises(ConfigError, match=re.escape(f"Invalid config key '{key}'")):
        reader.get_optional(key)


def test_valid_key_forms() -> None:
    """Dashes, underscores and colons separate words inside one key part."""
    reader = ConfigReader({"my-key": {"a_b": {"x:y": 1}}})
    assert reader.get_number("my-key.a_b.x:y") == 1


def test_none_means_not_set() -> None:
    """A None value (YAML null) is treated as missing, also inside lists."""
    reader = ConfigReader({"a": None, "b": [1, None, 2]})
    assert not reader.has("a")
    assert reader.keys() == ["b"]
    assert reader.get("b") == [1, 2]


def test_non_json_data_is_rejected() -> None:
    """Values that are not JSON data are refused when the reader is built."""
    with pytest.raises(ConfigError, match=re.escape("Config values must be JSON data, got set")):
        ConfigReader({"a": {1, 2}})  # type: ignore[dict-item]


def test_static_reader_subscribe_is_inert(reader: ConfigReader) -> None:
    """Subscribe on a static reader returns an unsubscribe function and never calls back."""
    calls: list[str] = []
    unsubscribe = reader.subscribe(lambda: calls.append("x"))
    unsubscribe()
    assert calls == []


def test_secret_values_are_trimmed_and_filtered() -> None:
    """Secrets are trimmed and those shorter than two characters are dropped."""
    reader = ConfigReader({}, secrets=[" token ", "x", " y ", "ab"])
    assert reader.secret_values() == frozenset({"token", "ab"})
    assert ConfigReader({"a": {}}, secrets=["ab"]).get_config("a").secret_values() == {"ab"}


def test_repr_hides_values() -> None:
    """repr() shows sources and prefix but never values."""
    reader = ConfigReader({"a": {"token": "hunter2"}}, "app-config.yaml")
    text = repr(reader.get_config("a"))
    assert text == "ConfigReader(sources=('app-config.yaml',), prefix='a')"
