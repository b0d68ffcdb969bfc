"""Tests for APP_CONFIG_ environment overrides (Backstage's readEnvConfig rules)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from di_backend.config import load_config
from di_backend.errors import ConfigError, ConfigTypeError


def env_config(tmp_path: Path, env: dict[str, str], files: str = "") -> dict[str, object]:
    """Load a config from ``files`` (app-config.yaml text) and ``env``, return the tree."""
    if files:
        (tmp_path / "app-config.yaml").write_text(files, encoding="utf-8")
    tree = load_config(cwd=tmp_path, env=env).get()
    assert isinstance(tree, dict)
    return dict(tree)


def test_override_applies_on_top_of_files(tmp_path: Path) -> None:
    """APP_CONFIG_backend_listen_port=8080 overrides the file value and keeps siblings."""
    files = "backend:\n  listen:\n    port: 7007\n    host: localhost\n"
    tree = env_config(tmp_path, {"APP_CONFIG_backend_listen_port": "8080"}, files)
    assert tree == {"backend": {"listen": {"port": 8080, "host": "localhost"}}}


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("8080", 8080),
        ("1.5", 1.5),
        ("true", True),
        ('"42"', "42"),
        ("plain text", "plain text"),
        ('{"a": [1, "x"]}', {"a": [1, "x"]}),
        ("NaN", "NaN"),
        ("{not json", "{not json"),
    ],
)
def test_values_are_json_or_strings(tmp_path: Path, raw: str, parsed: object) -> None:
    """A value is parsed as JSON if it parses (NaN is not JSON), else kept as a string."""
    assert env_config(tmp_path, {"APP_CONFIG_key": raw}) == {"key": parsed}


def test_empty_and_unprefixed_variables_are_ignored(tmp_path: Path) -> None:
    """Empty values are skipped and variables without the prefix do nothing."""
    env = {"APP_CONFIG_a": "", "OTHER_b": "1", "app_config_c": "1", "APP_CONFIG_d": "1"}
    assert env_config(tmp_path, env) == {"d": 1}


def test_env_source_is_named_in_errors(tmp_path: Path) -> None:
    """A type error on an overridden value names the environment variable."""
    config = load_config(cwd=tmp_path, env={"APP_CONFIG_backend_listen_port": "8080"})
    message = (
        "Invalid type in config for key 'backend.listen.port' in "
        "'env var APP_CONFIG_backend_listen_port', got number, wanted string"
    )
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        config.get_string("backend.listen.port")
    assert config.reader.sources == ("env",)


def test_env_json_object_origin(tmp_path: Path) -> None:
    """Values inside a JSON object from an env var name that env var."""
    config = load_config(cwd=tmp_path, env={"APP_CONFIG_app": '{"list": [{"x": 1}]}'})
    (item,) = config.get_config_array("app.list")
    with pytest.raises(
        ConfigTypeError, match=re.escape("'app.list[0].x' in 'env var APP_CONFIG_app'")
    ):
        item.get_string("x")


def test_env_mapping_replaces_file_scalar(tmp_path: Path) -> None:
    """An env override below a file scalar replaces that scalar with a mapping."""
    tree = env_config(tmp_path, {"APP_CONFIG_a_b": "1"}, "a: scalar\n")
    assert tree == {"a": {"b": 1}}


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("APP_CONFIG_backend__port", "backend__port"),
        ("APP_CONFIG_1abc", "1abc"),
        ("APP_CONFIG_", ""),
        ("APP_CONFIG_a_b-", "a_b-"),
        ("APP_CONFIG_a.b", "a.b"),
    ],
)
def test_invalid_env_key(tmp_path: Path, name: str, key: str) -> None:
    """A malformed name gives Backstage's "Invalid env config key" message."""
    with pytest.raises(ConfigError, match=re.escape(f"Invalid env config key '{key}'")):
        load_config(cwd=tmp_path, env={name: "1"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"APP_CONFIG_a": "1", "APP_CONFIG_a_b": "2"},
            "Could not nest config for key 'a_b' under existing value 'a'",
        ),
        (
            {"APP_CONFIG_a_b": "[1]", "APP_CONFIG_a_b_c": "2"},
            "Could not nest config for key 'a_b_c' under existing value 'a_b'",
        ),
        (
            {"APP_CONFIG_a_b": "2", "APP_CONFIG_a": "1"},
            "Refusing to override existing config at key 'a'",
        ),
        (
            {"APP_CONFIG_a": '{"b": 1}', "APP_CONFIG_a_b": "2"},
            "Refusing to override existing config at key 'a_b'",
        ),
    ],
    ids=["under-a-scalar", "under-an-array", "key-already-set", "key-inside-a-json-object"],
)
def test_conflicting_variables_are_refused(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    """Variables that nest under a value or set a key another one set are refused by name."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(cwd=tmp_path, env=env)


def test_variables_may_extend_a_json_object(tmp_path: Path) -> None:
    """A variable may add a new key inside a JSON object from another variable."""
    env = {"APP_CONFIG_a": '{"b": 1}', "APP_CONFIG_a_c": "2"}
    assert env_config(tmp_path, env) == {"a": {"b": 1, "c": 2}}


def test_null_value_is_refused(tmp_path: Path) -> None:
    """A JSON null value is refused with Backstage's parse message."""
    message = (
        "Failed to parse JSON-serialized config value for key 'a_b', "
        "ValueError: value may not be null"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(cwd=tmp_path, env={"APP_CONFIG_a_b": "null"})


def test_env_string_values_are_secrets(tmp_path: Path) -> None:
    """Strings from APP_CONFIG_ variables are secrets; numbers and booleans are not."""
    env = {
        "APP_CONFIG_token": "abc123",
        "APP_CONFIG_port": "8080",
        "APP_CONFIG_flag": "true",
        "APP_CONFIG_nested": '{"key": "inner-secret", "n": 5}',
        "APP_CONFIG_short": "x",
    }
    config = load_config(cwd=tmp_path, env=env)
    assert config.secret_values() == frozenset({"abc123", "inner-secret"})
