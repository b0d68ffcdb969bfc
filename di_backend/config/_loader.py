"""``load_config``: files, then ``APP_CONFIG_`` overrides, merged into one config."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from di_backend.config._directives import load_config_file
from di_backend.config._env import read_env_config
from di_backend.config._files import display_path
from di_backend.config._observable import ObservableConfig
from di_backend.config._reader import ConfigReader
from di_backend.config._source import LoadedSource, merge_sources
from di_backend.errors import ConfigFileError

__all__ = ["DEFAULT_CONFIG_FILES", "load_config", "read_config"]

DEFAULT_CONFIG_FILES = ("app-config.yaml", "app-config.local.yaml")
"""The files read from the working directory when no paths are given, in order."""


def _as_paths(paths: Sequence[str | os.PathLike[str]]) -> tuple[str | os.PathLike[str], ...]:
    """Return ``paths`` as a tuple; a single path is one path, not its characters."""
    if isinstance(paths, str | os.PathLike):
        return (paths,)
    return tuple(paths)


def _config_files(paths: Sequence[str | os.PathLike[str]], base_dir: str) -> list[str]:
    """Return the absolute paths of the files to read, in order.

    Raises:
        ConfigFileError: an explicit path does not exist.

    """
    if not paths:
        candidates = (os.path.join(base_dir, name) for name in DEFAULT_CONFIG_FILES)
        return [path for path in candidates if os.path.exists(path)]
    files: list[str] = []
    for path in paths:
        absolute = os.path.abspath(os.path.join(base_dir, os.fspath(path)))
        if not os.path.exists(absolute):
            name = display_path(absolute, base_dir)
            raise ConfigFileError(f"Config file '{name}' does not exist")
        files.append(absolute)
    return files


def read_config(
    paths: Sequence[str | os.PathLike[str]] = (),
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> ConfigReader:
    """Load the configuration once, as a static :class:`ConfigReader`.

    See :func:`load_config` for the rules; this is the same without the ability to
    reload or subscribe.

    Raises:
        ConfigFileError: a file is missing, unreadable or malformed, or a directive
            fails.
        ConfigError: an ``APP_CONFIG_`` variable is invalid.

    """
    base_dir: str = os.path.abspath(os.getcwd() if cwd is None else os.fspath(cwd))
    environ: Mapping[str, str] = os.environ if env is None else env

    def display(path: str) -> str:
        return display_path(path, base_dir)

    sources: list[LoadedSource] = [
        load_config_file(path, environ, display)
        for path in _config_files(_as_paths(paths), base_dir)
    ]
    overrides = read_env_config(environ)
    if overrides is not None:
        sources.append(overrides)
    return merge_sources(sources)


def load_config(
    paths: Sequence[str | os.PathLike[str]] = (),
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> ObservableConfig:
    """Load the backend's configuration the way Backstage does.

    1. Files: the explicit ``paths`` in order (``--config``, relative to ``cwd``; a
       missing one is an error), or else ``app-config.yaml`` and then
       ``app-config.local.yaml`` from ``cwd``, each skipped when absent.
    2. In each file: ``${VAR}`` substitution and the ``$env``, ``$file`` and
       ``$include`` directives.
    3. ``APP_CONFIG_<a>_<b>`` environment variables on top.

    Later sources win: mappings merge recursively, anything else is replaced.

    Args:
        paths: explicit config files (a single path is accepted too); when empty
            the default files are read.
        cwd: the directory for the default files and relative paths (default: the
            current directory, captured now so :meth:`ObservableConfig.reload` reads
            the same files).
        env: the environment (default: ``os.environ``, read again on every reload).

    Returns:
        The root configuration; its :meth:`~ObservableConfig.reload` reads everything
        again and notifies subscribers if the data changed.

    Raises:
        ConfigFileError: a file is missing, unreadable or malformed, or a directive
            fails.
        ConfigError: an ``APP_CONFIG_`` variable is invalid.

    """
    base_dir: str = os.path.abspath(os.getcwd() if cwd is None else os.fspath(cwd))
    files = _as_paths(paths)

    def loader() -> ConfigReader:
        return read_config(files, cwd=base_dir, env=env)

    return ObservableConfig(loader(), loader=loader)
