"""Tests for di_backend.config.load_config: files, order, merging and file errors."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

from di_backend.config import load_config, read_config
from di_backend.errors import ConfigError, ConfigFileError, ConfigKeyError, ConfigTypeError

NO_ENV: dict[str, str] = {}


def write(directory: Path, name: str, text: str) -> Path:
    """Write dedented ``text`` to ``directory/name`` and return the path."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_default_files_merge_with_local_winning(tmp_path: Path) -> None:
    """app-config.local.yaml is read after app-config.yaml and wins on conflicts."""
    write(
        tmp_path,
        "app-config.yaml",
        """
        backend:
          baseUrl: http://localhost:7007
          listen: {port: 7007, host: ""}
        """,
    )
    write(tmp_path, "app-config.local.yaml", "backend:\n  listen:\n    port: 8080\n")
    config = load_config(cwd=tmp_path, env=NO_ENV)
    assert config.get("backend") == {
        "baseUrl": "http://localhost:7007",
        "listen": {"port": 8080, "host": ""},
    }
    assert config.reader.sources == ("app-config.yaml", "app-config.local.yaml")


def test_missing_local_file_is_skipped(tmp_path: Path) -> None:
    """Without app-config.local.yaml only app-config.yaml is read."""
    write(tmp_path, "app-config.yaml", "app: {title: Hi}\n")
    config = load_config(cwd=tmp_path, env=NO_ENV)
    assert config.get_string("app.title") == "Hi"
    assert config.reader.sources == ("app-config.yaml",)


def test_no_files_gives_empty_config(tmp_path: Path) -> None:
    """Without any config file the config is empty and errors name 'empty-config'."""
    config = load_config(cwd=tmp_path, env=NO_ENV)
    assert config.get() == {}
    message = "Missing required config value at 'backend.baseUrl' in 'empty-config'"
    with pytest.raises(ConfigKeyError, match=re.escape(message)):
        config.get_string("backend.baseUrl")


def test_missing_key_names_every_file_read(tmp_path: Path) -> None:
    """A missing required key names all the files that were read."""
    write(tmp_path, "app-config.yaml", "a: 1\n")
    write(tmp_path, "app-config.local.yaml", "b: 1\n")
    message = (
        "Missing required config value at 'backend.baseUrl' in "
        "'app-config.yaml', 'app-config.local.yaml'"
    )
    with pytest.raises(ConfigKeyError, match=re.escape(message)):
        load_config(cwd=tmp_path, env=NO_ENV).get_string("backend.baseUrl")


def test_deep_merge_rules(tmp_path: Path) -> None:
    """Mappings merge recursively while lists and scalars are replaced."""
    first = write(
        tmp_path,
        "base.yaml",
        """
        a: {x: 1, y: {z: 1, w: 1}}
        list: [1, 2, 3]
        scalar: {was: mapping}
        mapping: was-scalar
        """,
    )
    second = write(
        tmp_path,
        "override.yaml",
        """
        a: {y: {z: 2}}
        list: [9]
        scalar: 5
        mapping: {now: mapping}
        """,
    )
    config = load_config([first, second], cwd=tmp_path, env=NO_ENV)
    assert config.get() == {
        "a": {"x": 1, "y": {"z": 2, "w": 1}},
        "list": [9],
        "scalar": 5,
        "mapping": {"now": "mapping"},
    }


def test_explicit_paths_replace_default_files(tmp_path: Path) -> None:
    """Explicit paths are read in order, relative to cwd, and the default files are not."""
    write(tmp_path, "app-config.yaml", "from: default\n")
    write(tmp_path, "conf/one.yaml", "from: one\nonly: one\n")
    write(tmp_path, "conf/two.yaml", "from: two\n")
    config = load_config(["conf/one.yaml", "conf/two.yaml"], cwd=tmp_path, env=NO_ENV)
    assert config.get() == {"from": "two", "only": "one"}
    assert config.reader.sources == (
        os.path.join("conf", "one.yaml"),
        os.path.join("conf", "two.yaml"),
    )


def test_single_path_is_not_split_into_characters(tmp_path: Path) -> None:
    """A single path string is read as one file, not as a sequence of characters."""
    write(tmp_path, "one.yaml", "a: 1\n")
    assert load_config("one.yaml", cwd=tmp_path, env=NO_ENV).get() == {"a": 1}


def test_missing_explicit_path(tmp_path: Path) -> None:
    """An explicit config path that does not exist is a ConfigFileError naming it."""
    with pytest.raises(ConfigFileError, match=re.escape("Config file 'nope.yaml' does not exist")):
        load_config(["nope.yaml"], cwd=tmp_path, env=NO_ENV)


def test_file_outside_cwd_is_shown_absolute(tmp_path: Path) -> None:
    """A file outside the working directory is named by its absolute path."""
    outside = write(tmp_path, "outside.yaml", "a: [1]\n")
    cwd = tmp_path / "work"
    cwd.mkdir()
    config = load_config([outside], cwd=cwd, env=NO_ENV)
    message = f"Invalid type in config for key 'a' in '{outside}', got array, wanted string"
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        config.get_string("a")


def test_type_error_names_the_file_the_value_came_from(tmp_path: Path) -> None:
    """Type errors name the file that set the value, not just the first file."""
    write(tmp_path, "app-config.yaml", "backend:\n  listen:\n    port: 7007\n  name: ok\n")
    write(tmp_path, "app-config.local.yaml", "backend:\n  listen:\n    port: seven\n")
    config = load_config(cwd=tmp_path, env=NO_ENV)
    message = (
        "Invalid type in config for key 'backend.listen.port' in 'app-config.local.yaml', "
        "got string, wanted object"
    )
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        config.get_config("backend.listen.port")
    with pytest.raises(ConfigTypeError, match=re.escape("key 'backend.name' in 'app-config.yaml'")):
        config.get_number("backend.name")


def test_merged_mapping_names_the_first_file(tmp_path: Path) -> None:
    """A mapping merged from several files is attributed to the first file that set it."""
    write(tmp_path, "app-config.yaml", "backend: {a: 1}\n")
    write(tmp_path, "app-config.local.yaml", "backend: {b: 2}\n")
    config = load_config(cwd=tmp_path, env={"APP_CONFIG_backend_c": "3"})
    message = (
        "Invalid type in config for key 'backend' in 'app-config.yaml', got object, wanted string"
    )
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        config.get_string("backend")


def test_replaced_list_elements_name_the_new_file(tmp_path: Path) -> None:
    """After a list is replaced, its elements' errors name the file that replaced it."""
    write(tmp_path, "app-config.yaml", "items:\n  - {a: 1}\n  - {a: 2}\n")
    write(tmp_path, "app-config.local.yaml", "items:\n  - {a: x}\n")
    config = load_config(cwd=tmp_path, env=NO_ENV)
    (item,) = config.get_config_array("items")
    with pytest.raises(ConfigTypeError, match=re.escape("'items[0].a' in 'app-config.local.yaml'")):
        item.get_boolean("a")
    with pytest.raises(ConfigTypeError, match=re.escape("'items[0]' in 'app-config.local.yaml'")):
        config.get_string_array("items")


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    """Malformed YAML is a ConfigFileError with the file, the line and the problem."""
    write(tmp_path, "app-config.yaml", "app:\n  title: ok\n  bad: [unclosed\n")
    message = "Failed to parse config file 'app-config.yaml' at line 4: "
    with pytest.raises(ConfigFileError, match=re.escape(message)) as info:
        load_config(cwd=tmp_path, env=NO_ENV)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_bad_yaml_mapping_error_line(tmp_path: Path) -> None:
    """A YAML syntax error reports the 1-based line where the problem is."""
    write(tmp_path, "app-config.yaml", "a: 1\nb: 2\nc: d: e\n")
    message = (
        "Failed to parse config file 'app-config.yaml' at line 3: mapping values are not allowed"
    )
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load_config(cwd=tmp_path, env=NO_ENV)


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "array"), ("hello\n", "string")])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    """A file whose top level is not a mapping is an error naming the file."""
    write(tmp_path, "app-config.yaml", text)
    message = f"Config file 'app-config.yaml' must contain a mapping at the top level, got {kind}"
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load_config(cwd=tmp_path, env=NO_ENV)


def test_empty_file_is_empty_config(tmp_path: Path) -> None:
    """An empty file (or one with only comments) adds nothing."""
    write(tmp_path, "app-config.yaml", "# nothing here\n")
    assert load_config(cwd=tmp_path, env=NO_ENV).get() == {}


def test_unreadable_config_path(tmp_path: Path) -> None:
    """A path that cannot be read as a file is a ConfigFileError naming it."""
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(ConfigFileError, match=re.escape("Failed to read config file 'dir.yaml': ")):
        load_config(["dir.yaml"], cwd=tmp_path, env=NO_ENV)


def test_yaml_values_become_json(tmp_path: Path) -> None:
    """Dates stay strings, scalar keys become strings and null means not set."""
    write(
        tmp_path,
        "app-config.yaml",
        """
        date: 2024-01-01
        keys: {1: one, false: two, 2.5: three}
        unset: null
        list: [1, ~, 2]
        """,
    )
    config = load_config(cwd=tmp_path, env=NO_ENV)
    assert config.get() == {
        "date": "2024-01-01",
        "keys": {"1": "one", "false": "two", "2.5": "three"},
        "list": [1, 2],
    }


def test_null_in_later_file_keeps_earlier_value(tmp_path: Path) -> None:
    """A null in a later file means "not set there", so the earlier value stays."""
    write(tmp_path, "app-config.yaml", "a: 1\n")
    write(tmp_path, "app-config.local.yaml", "a: null\n")
    assert load_config(cwd=tmp_path, env=NO_ENV).get_number("a") == 1


def test_unsupported_yaml_value(tmp_path: Path) -> None:
    """A YAML value that is not JSON data (e.g. binary) is a ConfigFileError."""
    write(tmp_path, "app-config.yaml", "a:\n  b: !!binary aGk=\n")
    message = (
        "Failed to parse config file 'app-config.yaml': unsupported value of type bytes at 'a.b'"
    )
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load_config(cwd=tmp_path, env=NO_ENV)


def test_yaml_tags_outside_safe_loader_are_refused(tmp_path: Path) -> None:
    """Python object tags are refused (safe loading), as a parse error with the line."""
    write(tmp_path, "app-config.yaml", "a: !!python/object:os.system {}\n")
    with pytest.raises(ConfigFileError, match=re.escape("'app-config.yaml' at line 1: ")):
        load_config(cwd=tmp_path, env=NO_ENV)


def test_reload_reads_files_again(tmp_path: Path) -> None:
    """reload() reads the same files again and notifies only when the data changed."""
    path = write(tmp_path, "app-config.yaml", "a: 1\n")
    config = load_config(cwd=tmp_path, env=NO_ENV)
    calls: list[float] = []
    config.subscribe(lambda: calls.append(config.get_number("a") if config.has("a") else -1))
    assert config.reload() is False
    path.write_text("a: 2\n", encoding="utf-8")
    assert config.reload() is True
    assert calls == [2]


def test_reload_failure_keeps_old_data(tmp_path: Path) -> None:
    """If reloading fails the error propagates and the old data stays in place."""
    path = write(tmp_path, "app-config.yaml", "a: 1\n")
    config = load_config(cwd=tmp_path, env=NO_ENV)
    path.write_text("a: [\n", encoding="utf-8")
    with pytest.raises(ConfigFileError):
        config.reload()
    assert config.get_number("a") == 1


def test_read_config_returns_static_reader(tmp_path: Path) -> None:
    """read_config loads once into a ConfigReader with the same rules."""
    write(tmp_path, "app-config.yaml", "a: 1\n")
    reader = read_config(cwd=tmp_path, env={"APP_CONFIG_b": "2"})
    assert reader.get() == {"a": 1, "b": 2}


def test_default_env_is_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without env=, the process environment is used."""
    monkeypatch.setenv("APP_CONFIG_fromEnv", "yes")
    assert load_config(cwd=tmp_path).get_string("fromEnv") == "yes"


def test_plugin_reads_config_under_its_id(tmp_path: Path) -> None:
    """A plugin's static config is the sub-config under its plugin id."""
    write(tmp_path, "app-config.yaml", "catalog:\n  refreshIntervalSeconds: 100\n")
    config = load_config(cwd=tmp_path, env=NO_ENV)
    catalog = config.get_config("catalog")
    assert catalog.get_number("refreshIntervalSeconds") == 100
    assert config.get_optional_config("scaffolder") is None


def test_config_errors_are_value_errors(tmp_path: Path) -> None:
    """Every loading error derives from ConfigError (and so ValueError)."""
    write(tmp_path, "app-config.yaml", "[1")
    with pytest.raises(ValueError, match="Failed to parse config file") as info:
        load_config(cwd=tmp_path, env=NO_ENV)
    assert isinstance(info.value, ConfigError)


def test_a_required_key_an_unset_variable_left_out_names_the_variable(tmp_path: Path) -> None:
    """Reading a key whose ``${VAR}`` was unset says which variable, in which file."""
    (tmp_path / "app-config.yaml").write_text("db:\n  password: ${DB_PASSWORD}\n", "utf-8")
    config = load_config(cwd=tmp_path, env={})
    assert config.unset_substitutions() == (("db.password", "DB_PASSWORD", "app-config.yaml"),)
    with pytest.raises(ConfigKeyError) as caught:
        config.get_config("db").get_string("password")
    assert str(caught.value) == (
        "Missing required config value at 'db.password' in 'app-config.yaml': 'app-config.yaml' "
        "sets it to ${DB_PASSWORD}, and the environment variable DB_PASSWORD is not set"
    )
    later = load_config(cwd=tmp_path, env={"APP_CONFIG_db_password": "from-env"})
    assert later.unset_substitutions() == ()  # another source gave the key a value
