"""The default ``root_config`` factory: ``app-config.yaml`` files, substitutions, env overrides.

``root_config_factory`` is both a service factory and a callable that makes
another one with options, Backstage's ``rootConfigServiceFactory`` pattern::

    backend = create_backend()                         # reads ./app-config.yaml (+ .local)
    backend.add(root_config_factory(paths=["prod.yaml", "secrets.yaml"]))  # --config files

The loading rules are :func:`di_backend.config.load_config`'s.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from di_backend._core_services import core_services
from di_backend._factories import ServiceFactory, create_service_factory
from di_backend.config import load_config
from di_backend.services import RootConfigService

__all__ = ["RootConfigFactory", "root_config_factory"]

ConfigPath = str | os.PathLike[str]
"""A configuration file: a string or a path object."""


class RootConfigFactory(ServiceFactory[RootConfigService]):
    """The ``root_config`` factory that loads configuration files; call it for options.

    The service it creates is an :class:`~di_backend.config.ObservableConfig`: its
    secret values (from ``${VAR}``, ``$env`` and ``$file``) feed the root logger's
    redaction, and ``backend.logger.level`` sets the log level.

    Attributes:
        paths: the explicit files, in order; empty means ``app-config.yaml`` then
            ``app-config.local.yaml`` from ``cwd``.
        cwd: the directory for the default files and relative paths (``None``: the
            working directory when the backend starts).
        env: the environment for substitutions and ``APP_CONFIG_*`` overrides
            (``None``: ``os.environ``).
    """

    __slots__ = ("cwd", "env", "loaded", "paths")

    def __init__(
        self,
        *,
        paths: Sequence[ConfigPath] = (),
        cwd: ConfigPath | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Create the factory; prefer calling :data:`root_config_factory`."""
        self.paths: tuple[ConfigPath, ...] = (
            (paths,) if isinstance(paths, str | os.PathLike) else tuple(paths)
        )
        self.cwd = cwd
        self.env = env
        self.loaded: RootConfigService | None = None
        """The configuration this factory loaded last (``None`` before the first load)."""
        spec = create_service_factory(core_services.root_config, self._load)
        super().__init__(core_services.root_config, spec._call, spec._context, spec.initialization)

    def __repr__(self) -> str:
        files = [os.fspath(path) for path in self.paths] or "app-config.yaml, app-config.local.yaml"
        return f"root_config_factory(paths={files!r})"

    def __call__(
        self,
        *,
        paths: Sequence[ConfigPath] = (),
        cwd: ConfigPath | None = None,
        env: Mapping[str, str] | None = None,
    ) -> RootConfigFactory:
        """Return a ``root_config`` factory with these options.

        Args:
            paths: the config files to read, in order (later files win); relative
                paths are relative to ``cwd``. Empty: the default files.
            cwd: the directory for the default files and relative paths.
            env: the environment to read instead of ``os.environ``.

        Returns:
            A new factory; add it with ``backend.add(...)`` to replace the default.
        """
        return RootConfigFactory(paths=paths, cwd=cwd, env=env)

    def _load(self) -> RootConfigService:
        self.loaded = load_config(self.paths, cwd=self.cwd, env=self.env)
        return self.loaded


root_config_factory = RootConfigFactory()
"""Loads ``app-config.yaml`` and ``app-config.local.yaml`` from the working directory.

Call it (``root_config_factory(paths=[...])``) for a factory that reads other files.
"""
