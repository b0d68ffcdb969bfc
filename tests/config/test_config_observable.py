"""Tests for di_backend.config.ObservableConfig: updates, live sub-configs, subscribers."""

from __future__ import annotations

import re

import pytest

from di_backend.config import ConfigReader, ObservableConfig
from di_backend.errors import ConfigError, ConfigKeyError
from di_backend.services import ConfigService, JsonValue


def counter(config: ConfigService) -> list[int]:
    """Subscribe a callback that appends to the returned list on each call."""
    calls: list[int] = []
    config.subscribe(lambda: calls.append(len(calls)))
    return calls


def test_observable_is_a_config_service() -> None:
    """ObservableConfig and its sub-configs satisfy the ConfigService protocol."""
    config = ObservableConfig({"a": {"b": 1}})
    service: ConfigService = config
    assert isinstance(service, ConfigService)
    assert isinstance(config.get_config("a"), ConfigService)


def test_update_notifies_on_real_change_only() -> None:
    """update() calls subscribers only when the data differs, and says whether it did."""
    config = ObservableConfig({"a": 1, "b": {"c": [1, 2]}})
    calls = counter(config)
    assert config.update({"b": {"c": [1, 2]}, "a": 1}) is False
    assert calls == []
    assert config.update({"a": 2, "b": {"c": [1, 2]}}) is True
    assert calls == [0]
    assert config.get_number("a") == 2


@pytest.mark.parametrize(
    ("before", "after"),
    [(1, 1.0), (1, True), (0, False), ("1", 1)],
)
def test_update_distinguishes_json_types(before: JsonValue, after: JsonValue) -> None:
    """Values that Python calls equal but JSON does not (1, 1.0, true) count as changes."""
    config = ObservableConfig({"a": before})
    calls = counter(config)
    assert config.update({"a": after}) is True
    assert calls == [0]


def test_unsubscribe_stops_notifications() -> None:
    """After unsubscribe the callback is not called; unsubscribing twice is harmless."""
    config = ObservableConfig({"a": 1})
    calls: list[str] = []
    unsubscribe = config.subscribe(lambda: calls.append("root"))
    config.update({"a": 2})
    unsubscribe()
    unsubscribe()
    config.update({"a": 3})
    assert calls == ["root"]


def test_sub_config_reads_new_data_after_update() -> None:
    """A sub-config obtained before an update reads the new data afterwards."""
    config = ObservableConfig({"backend": {"listen": {"port": 7007}}})
    listen = config.get_config("backend").get_config("listen")
    config.update({"backend": {"listen": {"port": 8080}}})
    assert listen.get_number("port") == 8080


def test_sub_config_subscriber_called_on_any_change() -> None:
    """A subscriber on a sub-config runs when anything in the config changes."""
    config = ObservableConfig({"a": {"x": 1}, "b": 1})
    sub_calls = counter(config.get_config("a"))
    config.update({"a": {"x": 1}, "b": 2})
    assert sub_calls == [0]


def test_sub_config_of_removed_key_reads_as_empty() -> None:
    """When a sub-config's key disappears it reads as empty and errors name full keys."""
    config = ObservableConfig({"a": {"b": {"c": "x"}}})
    sub = config.get_optional_config("a")
    assert sub is not None
    b = sub.get_config("b")
    config.update({})
    assert b.get_optional("c") is None
    assert b.keys() == []
    message = "Missing required config value at 'a.b.c' in 'mock-config'"
    with pytest.raises(ConfigKeyError, match=re.escape(message)):
        b.get_string("c")


def test_get_config_checks_presence_now() -> None:
    """get_config raises for a missing key; get_optional_config returns None."""
    config = ObservableConfig({"a": {}}, "app-config.yaml")
    with pytest.raises(ConfigKeyError, match=re.escape("at 'a.b' in 'app-config.yaml'")):
        config.get_config("a").get_config("b")
    assert config.get_optional_config("nope") is None


def test_getters_delegate_to_current_data() -> None:
    """Every getter of a live config reads the current tree."""
    config = ObservableConfig()
    config.update(
        {
            "s": "x",
            "n": "42",
            "b": "true",
            "l": ["p", "q"],
            "o": [{"k": "v"}],
            "m": {"k": 1},
        }
    )
    assert config.get("m") == {"k": 1}
    assert config.get_optional("nope") is None
    assert config.get_string("s") == "x"
    assert config.get_optional_string("nope") is None
    assert config.get_number("n") == 42
    assert config.get_optional_number("nope") is None
    assert config.get_boolean("b") is True
    assert config.get_optional_boolean("nope") is None
    assert config.get_string_array("l") == ["p", "q"]
    assert config.get_optional_string_array("nope") is None
    assert config.get_optional_config_array("nope") is None
    assert config.has("s")
    assert config.keys() == ["s", "n", "b", "l", "o", "m"]


def test_config_arrays_are_snapshots() -> None:
    """Sub-configs from get_config_array keep the data they were created from."""
    config = ObservableConfig({"o": [{"k": "v"}]})
    (item,) = config.get_config_array("o")
    config.update({"o": [{"k": "w"}]})
    assert item.get_string("k") == "v"
    (fresh,) = config.get_config_array("o")
    assert fresh.get_string("k") == "w"


def test_subscriber_errors_do_not_stop_others() -> None:
    """Every subscriber runs even if one raises; then the first error is re-raised."""
    config = ObservableConfig({"a": 1})
    calls: list[str] = []

    def failing() -> None:
        raise RuntimeError("boom")

    config.subscribe(failing)
    config.subscribe(lambda: calls.append("second"))
    with pytest.raises(RuntimeError, match="boom"):
        config.update({"a": 2})
    assert calls == ["second"]
    assert config.get_number("a") == 2


def test_on_error_receives_subscriber_errors() -> None:
    """With on_error, subscriber exceptions are handed to it and update() returns."""
    errors: list[BaseException] = []
    config = ObservableConfig({"a": 1}, on_error=errors.append)

    def failing() -> None:
        raise RuntimeError("boom")

    config.subscribe(failing)
    assert config.update({"a": 2}) is True
    assert [str(error) for error in errors] == ["boom"]


def test_reload_without_loader() -> None:
    """reload() on a config that was not loaded from files is a ConfigError."""
    with pytest.raises(ConfigError, match=re.escape("This config has no loader to reload from")):
        ObservableConfig().reload()


def test_reload_uses_loader() -> None:
    """reload() applies what the loader returns and notifies only on change."""
    data: dict[str, JsonValue] = {"a": 1}
    config = ObservableConfig(loader=lambda: ConfigReader(data))
    calls = counter(config)
    assert config.reload() is True
    assert config.reload() is False
    assert calls == [0]
    assert config.get_number("a") == 1


def test_update_with_reader_keeps_sources_and_secrets() -> None:
    """Updating with a ConfigReader keeps its source names and secret values."""
    config = ObservableConfig({"a": 1}, "first.yaml")
    assert config.reader.sources == ("first.yaml",)
    config.update(ConfigReader({"a": 1}, "second.yaml", secrets=["token"]))
    assert config.reader.sources == ("second.yaml",)
    assert config.secret_values() == frozenset({"token"})
    with pytest.raises(ConfigKeyError, match=re.escape("in 'second.yaml'")):
        config.get("b")


def test_update_with_mapping_uses_context() -> None:
    """A mapping given to update() gets the context given at construction."""
    config = ObservableConfig({}, "runtime")
    config.update({"a": 1})
    with pytest.raises(ConfigKeyError, match=re.escape("at 'b' in 'runtime'")):
        config.get("b")


def test_repr_hides_values() -> None:
    """repr() of a live config shows the prefix, never values."""
    config = ObservableConfig({"a": {"token": "hunter2"}})
    assert repr(config.get_config("a")) == "_ConfigView(prefix='a')"
    assert repr(config) == "ObservableConfig(prefix='')"
