"""Tests for ${VAR} substitution and the $env, $file and $include directives."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from di_backend.config import ObservableConfig, load_config
from di_backend.config._substitution import substitute
from di_backend.errors import ConfigFileError, ConfigTypeError


def write(directory: Path, name: str, text: str) -> Path:
    """Write dedented ``text`` to ``directory/name`` and return the path."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ObservableConfig:
    """Write ``text`` as app-config.yaml in ``tmp_path`` and load it with ``env``."""
    write(tmp_path, "app-config.yaml", text)
    return load_config(cwd=tmp_path, env=env or {})


# --- ${VAR} -------------------------------------------------------------------------


def test_substitution_inserts_variables(tmp_path: Path) -> None:
    """${VAR} is replaced inside strings, several times in one string if needed."""
    config = load(
        tmp_path,
        "url: http://${HOST}:${ PORT }/api\n",
        {"HOST": "example.com", "PORT": "80"},
    )
    assert config.get_string("url") == "http://example.com:80/api"


@pytest.mark.parametrize("key", ["${X}", "${X}-suffix"])
def test_substitution_in_a_key_says_it_is_not_allowed(tmp_path: Path, key: str) -> None:
    """A key with ``${...}`` is refused as such, naming the key, the path and the file (#16)."""
    with pytest.raises(ConfigFileError) as caught:
        load(tmp_path, f"a:\n  '{key}': 1\n", {"X": "y"})
    message = str(caught.value)
    assert f"substitution is not allowed in keys, got the key '{key}'" in message
    assert "Error at 'a' in" in message
    assert "app-config.yaml" in message


def test_substitution_of_unset_variable_drops_the_key(tmp_path: Path) -> None:
    """If a variable is unset the whole value is undefined, as in Backstage."""
    config = load(tmp_path, "a: ${NOPE}\nb: x-${NOPE}-y\nlist: [keep, '${NOPE}']\n")
    assert not config.has("a")
    assert not config.has("b")
    assert config.get("list") == ["keep"]


def test_substitution_escape(tmp_path: Path) -> None:
    """$${...} is the literal text ${...}."""
    config = load(tmp_path, "a: $${HOST} and ${HOST}\n", {"HOST": "h"})
    assert config.get_string("a") == "${HOST} and h"


def test_substitution_default(tmp_path: Path) -> None:
    """${VAR:-default} uses the default when VAR is unset or empty."""
    config = load(
        tmp_path,
        "a: ${UNSET:-fallback}\nb: ${EMPTY:-fallback}\nc: ${SET:-fallback}\nd: '${EMPTY}'\n",
        {"EMPTY": "", "SET": "value"},
    )
    assert config.get() == {"a": "fallback", "b": "fallback", "c": "value", "d": ""}


def test_substitute_reports_inserted_values() -> None:
    """substitute() returns the new string and the environment values it inserted."""
    result = substitute("${A}/${B:-dflt}/$${C}", {"A": "alpha"})
    assert result.value == "alpha/dflt/${C}"
    assert result.secrets == ("alpha",)
    assert substitute("${MISSING}", {}).value is None


def test_substitution_does_not_touch_keys_or_env_values(tmp_path: Path) -> None:
    """Keys are not substituted, nor are values from $env or APP_CONFIG_ variables."""
    config = load(
        tmp_path,
        "x${KEY}: 1\nb: {$env: RAW}\n",
        {"KEY": "k", "RAW": "${KEY}", "APP_CONFIG_c": "${KEY}"},
    )
    assert config.get() == {"x${KEY}": 1, "b": "${KEY}", "c": "${KEY}"}


# --- $env ---------------------------------------------------------------------------


def test_env_directive(tmp_path: Path) -> None:
    """$env: VAR is the variable's value; an unset variable drops the key."""
    config = load(tmp_path, "a: {$env: TOKEN}\nb: {$env: NOPE}\n", {"TOKEN": "t0k3n"})
    assert config.get() == {"a": "t0k3n"}


def test_directive_value_must_be_a_string(tmp_path: Path) -> None:
    """A directive whose argument is not a string names the key and file."""
    message = "Error at 'a.b' in 'app-config.yaml', $env value is not a string, got number"
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load(tmp_path, "a:\n  b: {$env: 5}\n")


def test_directive_with_adjacent_keys(tmp_path: Path) -> None:
    """A directive must be the only key of its mapping."""
    message = "Error at 'a' in 'app-config.yaml', $file should not have adjacent keys"
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load(tmp_path, "a: {$file: x.txt, other: 1}\n")


def test_unknown_directive(tmp_path: Path) -> None:
    """A key starting with $ that is not a known directive is an error."""
    message = "Error at 'list[1]' in 'app-config.yaml', unknown directive $secret"
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load(tmp_path, "list: [a, {$secret: x}]\n")


# --- $file --------------------------------------------------------------------------


def test_file_directive_relative_to_including_file(tmp_path: Path) -> None:
    """$file reads a file relative to the config file that contains the directive."""
    write(tmp_path, "conf/certs/cert.pem", "CERT\n")
    write(tmp_path, "cert.pem", "WRONG\n")
    path = write(tmp_path, "conf/app.yaml", "https: {cert: {$file: certs/cert.pem}}\n")
    config = load_config([path], cwd=tmp_path, env={})
    assert config.get_string("https.cert") == "CERT\n"


def test_file_directive_missing_file(tmp_path: Path) -> None:
    """A missing $file target names the key, the config file and the path."""
    message = (
        "Error at 'backend.secret' in 'app-config.yaml', "
        "$file refers to a file that does not exist: 'secret.txt'"
    )
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load(tmp_path, "backend:\n  secret: {$file: secret.txt}\n")


@pytest.mark.parametrize("directive", ["$file", "$include"])
def test_path_escaping_directory_is_refused(tmp_path: Path, directive: str) -> None:
    """A $file or $include path that leaves the including file's directory is refused."""
    write(tmp_path, "secret.yaml", "a: 1\n")
    path = write(tmp_path, "conf/app-config.yaml", f"key: {{{directive}: ../secret.yaml}}\n")
    message = (
        f"Error at 'key' in '{Path('conf/app-config.yaml')}', "
        f"{directive} refers to a path outside its directory: '../secret.yaml'"
    )
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load_config([path], cwd=tmp_path, env={})


def test_absolute_path_outside_is_refused(tmp_path: Path) -> None:
    """An absolute path outside the including file's directory is refused."""
    outside = write(tmp_path, "outside.txt", "x\n")
    message = f"$file refers to a path outside its directory: '{outside}'"
    write(tmp_path, "conf/app.yaml", f"a: {{$file: '{outside}'}}\n")
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load_config(["conf/app.yaml"], cwd=tmp_path, env={})


def test_absolute_path_inside_is_allowed(tmp_path: Path) -> None:
    """An absolute path inside the including file's directory is read."""
    inside = write(tmp_path, "token.txt", "tok\n")
    config = load(tmp_path, f"a: {{$file: '{inside}'}}\n")
    assert config.get_string("a") == "tok\n"


def test_symlink_escaping_directory_is_refused(tmp_path: Path) -> None:
    """A symlink inside the directory that points outside it is refused."""
    outside = write(tmp_path, "outside.txt", "x\n")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "link.txt").symlink_to(outside)
    write(tmp_path, "conf/app.yaml", "a: {$file: link.txt}\n")
    with pytest.raises(ConfigFileError, match=re.escape("refers to a path outside its directory")):
        load_config(["conf/app.yaml"], cwd=tmp_path, env={})


def test_empty_path_is_refused(tmp_path: Path) -> None:
    """An empty $file path is an error naming the key."""
    message = "Error at 'a' in 'app-config.yaml', $file path is empty"
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load(tmp_path, "a: {$file: ''}\n")


def test_unreadable_file_directive(tmp_path: Path) -> None:
    """A $file target that cannot be read (a directory) names the key and path."""
    (tmp_path / "dir").mkdir()
    message = "Error at 'a' in 'app-config.yaml', $file failed to read 'dir', IsADirectoryError"
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load(tmp_path, "a: {$file: dir}\n")


# --- $include -----------------------------------------------------------------------


def test_include_yaml_and_json(tmp_path: Path) -> None:
    """$include parses YAML and JSON files and inserts their values."""
    write(tmp_path, "db.yaml", "client: pg\nconnection: {port: 5432}\n")
    write(tmp_path, "list.json", '[1, 2, {"a": null}]')
    config = load(tmp_path, "database: {$include: db.yaml}\nlist: {$include: list.json}\n")
    assert config.get() == {
        "database": {"client": "pg", "connection": {"port": 5432}},
        "list": [1, 2, {}],
    }


def test_include_with_data_path(tmp_path: Path) -> None:
    """$include: file#a.b inserts only the value at a.b; a missing path drops the key."""
    write(tmp_path, "all.yaml", "a:\n  b: {c: 1}\n")
    config = load(tmp_path, "x: {$include: all.yaml#a.b}\ny: {$include: all.yaml#a.nope}\n")
    assert config.get() == {"x": {"c": 1}}


def test_include_data_path_through_scalar(tmp_path: Path) -> None:
    """A data path that goes through a non-object is an error naming the included file."""
    write(tmp_path, "all.yaml", "a: 1\n")
    message = (
        "Error at 'x' in 'app-config.yaml', "
        "value at 'a' in included file 'all.yaml' is not an object"
    )
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load(tmp_path, "x: {$include: all.yaml#a.b}\n")


def test_include_unknown_extension(tmp_path: Path) -> None:
    """Only .yaml, .yml and .json files can be included."""
    write(tmp_path, "notes.txt", "hi")
    message = "no configuration parser available for included file 'notes.txt'"
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load(tmp_path, "x: {$include: notes.txt}\n")


def test_include_missing_file(tmp_path: Path) -> None:
    """A missing included file names the key, the including file and the path."""
    message = (
        "Error at 'x' in 'app-config.yaml', "
        "$include refers to a file that does not exist: 'nope.yaml'"
    )
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load(tmp_path, "x: {$include: nope.yaml}\n")


def test_included_file_is_transformed_relative_to_itself(tmp_path: Path) -> None:
    """Directives and ${VAR} inside an included file work, relative to that file."""
    write(tmp_path, "sub/token.txt", "tok")
    write(tmp_path, "sub/part.yaml", "token: {$file: token.txt}\nhost: ${HOST}\n")
    config = load(tmp_path, "part: {$include: sub/part.yaml}\n", {"HOST": "h"})
    assert config.get("part") == {"token": "tok", "host": "h"}


def test_included_values_name_the_included_file(tmp_path: Path) -> None:
    """Type errors on included values name the included file."""
    write(tmp_path, "part.yaml", "port: [1]\n")
    config = load(tmp_path, "server: {$include: part.yaml}\n")
    message = (
        "Invalid type in config for key 'server.port' in 'part.yaml', got array, wanted number"
    )
    with pytest.raises(ConfigTypeError, match=re.escape(message)):
        config.get_number("server.port")


def test_include_parse_error_names_included_file(tmp_path: Path) -> None:
    """A malformed included file is reported with its own name and line."""
    write(tmp_path, "bad.json", '{\n  "a": 1,\n}')
    with pytest.raises(
        ConfigFileError, match=re.escape("Failed to parse config file 'bad.json' at line 3: ")
    ):
        load(tmp_path, "x: {$include: bad.json}\n")


def test_include_cycle(tmp_path: Path) -> None:
    """A file that includes itself, directly or not, is an error instead of a hang."""
    write(tmp_path, "a.yaml", "b: {$include: b.yaml}\n")
    write(tmp_path, "b.yaml", "a: {$include: a.yaml}\n")
    message = "Error at 'x.b.a' in 'b.yaml', $include of 'a.yaml' creates a cycle"
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load(tmp_path, "x: {$include: a.yaml}\n")


def test_top_level_directive(tmp_path: Path) -> None:
    """A directive can provide a whole file; errors there say "the top level"."""
    write(tmp_path, "base.yaml", "a: 1\n")
    assert load(tmp_path, "$include: base.yaml\n").get() == {"a": 1}
    message = "Error at the top level in 'app-config.yaml', $include refers to a file that"
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        load(tmp_path, "$include: nope.yaml\n")


# --- secrets ------------------------------------------------------------------------


def test_secret_values_from_files_and_env(tmp_path: Path) -> None:
    """$env, $file and ${VAR} values are secrets (trimmed, length >= 2); includes are not."""
    write(tmp_path, "token.txt", "  file-secret\n")
    write(tmp_path, "plain.yaml", "value: not-secret\n")
    config = load(
        tmp_path,
        """
        a: {$env: TOKEN}
        b: {$file: token.txt}
        c: Bearer ${BEARER}
        d: ${SHORT}
        e: {$include: plain.yaml}
        f: literal
        """,
        {"TOKEN": "env-secret", "BEARER": "bearer-secret", "SHORT": "x"},
    )
    assert config.secret_values() == frozenset({"env-secret", "file-secret", "bearer-secret"})
