"""Configuration documents past the loader's bounds are config errors, cheaply."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from di_backend.config import load_config
from di_backend.config._files import MAX_DEPTH, _ConfigYamlLoader
from di_backend.errors import ConfigError, ConfigFileError

# Nine levels of nine aliases: 9**9 (387 million) values once expanded, in 400 bytes.
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + level)}: &{chr(98 + level)} [{', '.join(['*' + chr(97 + level)] * 9)}]\n"
    for level in range(8)
)


def _load(tmp_path: Path, text: str) -> None:
    (tmp_path / "app-config.yaml").write_text(text, encoding="utf-8")
    load_config(cwd=tmp_path, env={})


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    """A 400-byte alias bomb fails at once, naming the file and the limit."""
    assert len(ALIAS_BOMB) < 500
    with pytest.raises(
        ConfigFileError,
        match=re.escape(
            "Failed to parse config file 'app-config.yaml': it holds more than 1000000 values "
            "once its aliases are expanded (an alias bomb?)"
        ),
    ):
        _load(tmp_path, ALIAS_BOMB)


def test_ordinary_aliases_still_work(tmp_path: Path) -> None:
    """Anchors, aliases and merge keys within the bounds load as before."""
    (tmp_path / "app-config.yaml").write_text(
        "base: &base {port: 1, host: h}\nother: {<<: *base, port: 2}\nlist: [*base]\n",
        encoding="utf-8",
    )
    config = load_config(cwd=tmp_path, env={})
    assert config.get("other") == {"port": 2, "host": "h"}
    assert config.get("list") == [{"port": 1, "host": "h"}]


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    """An alias inside the value it names is a config error with its line."""
    with pytest.raises(ConfigFileError, match="a recursive alias"):
        _load(tmp_path, "a: &loop\n  - *loop\n")


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    """Values nested past the limit fail with the line and the limit, not a RecursionError."""
    deep = "v: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    with pytest.raises(ConfigFileError, match=f"nested more than {MAX_DEPTH} levels deep"):
        _load(tmp_path, deep)


def test_a_huge_integer_is_a_config_error(tmp_path: Path) -> None:
    """An integer past Python's digit limit is a config error naming the file."""
    with pytest.raises(
        ConfigFileError, match=re.escape("Failed to parse config file 'app-config.yaml'")
    ):
        _load(tmp_path, "n: " + "9" * 5000 + "\n")


def test_a_deeply_nested_environment_value_names_the_variable(tmp_path: Path) -> None:
    """An ``APP_CONFIG_*`` JSON value nested too deep names the variable and the limit."""
    value = "[" * 5000 + "]" * 5000
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "Failed to parse JSON-serialized config value for key 'app_deep' (env var "
            f"APP_CONFIG_app_deep): it is nested more than {MAX_DEPTH} levels deep"
        ),
    ):
        load_config(cwd=tmp_path, env={"APP_CONFIG_app_deep": value})


def test_the_loader_uses_libyaml_where_pyyaml_has_it() -> None:
    """The config loader parses with libyaml's C loader when PyYAML was built with it."""
    if not yaml.__with_libyaml__:
        pytest.skip("this PyYAML has no libyaml")
    assert issubclass(_ConfigYamlLoader, yaml.CSafeLoader)
