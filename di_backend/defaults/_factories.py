"""The default factories of the core services."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import cast

from di_backend._core_services import core_services
from di_backend._factories import create_service_factory
from di_backend._inject import inject
from di_backend.config import ConfigReader, read_duration_from_config
from di_backend.defaults._lifecycle import (
    DEFAULT_SHUTDOWN_HOOK_TIMEOUT,
    SHUTDOWN_HOOK_TIMEOUT_KEY,
    DefaultLifecycle,
    DefaultRootLifecycle,
)
from di_backend.defaults._logging import DefaultRootLogger
from di_backend.services import (
    ConfigService,
    LifecycleService,
    LoggerService,
    PluginMetadataService,
    RootConfigService,
    RootLifecycleService,
    RootLoggerService,
)

__all__ = [
    "empty_root_config_factory",
    "lifecycle_factory",
    "logger_factory",
    "root_lifecycle_factory",
    "root_logger_factory",
]


def _empty_config() -> RootConfigService:
    return ConfigReader({}, "empty config (no root_config factory installed)")


empty_root_config_factory = create_service_factory(core_services.root_config, _empty_config)
"""An empty configuration: the fallback when no ``root_config`` factory is installed."""


def config_secrets(config: ConfigService) -> frozenset[str]:
    """The config's secret values, if it tracks them (``di_backend.config`` readers do)."""
    secret_values = getattr(config, "secret_values", None)
    values: object = secret_values() if callable(secret_values) else ()
    if not isinstance(values, frozenset | set | list | tuple):
        return frozenset()
    return frozenset(v for v in cast("Iterable[object]", values) if isinstance(v, str))


def _root_logger(
    config: RootConfigService = inject(core_services.root_config),
) -> Iterator[RootLoggerService]:
    logger_config = config.get_optional_config("backend.logger")
    meta = {"service": "backstage"}
    logger = DefaultRootLogger.create(
        config_level=logger_config.get_optional_string("level") if logger_config else None,
        redactions=config_secrets(config),
        meta=meta,
    )
    # A reload may bring new secrets (a rotated token): redact them from then on.
    unsubscribe = config.subscribe(lambda: logger.add_redactions(config_secrets(config)))
    _warn_unset_substitutions(config, logger)
    try:
        yield logger
    finally:
        unsubscribe()


def _warn_unset_substitutions(config: ConfigService, logger: RootLoggerService) -> None:
    """Say once, at start, which keys an unset ``${VAR}`` left out, and where."""
    unset = getattr(config, "unset_substitutions", None)
    found: object = unset() if callable(unset) else ()
    for entry in cast("Iterable[tuple[str, str, str]]", found if isinstance(found, tuple) else ()):
        key, variable, file = entry
        logger.warn(
            f"Config value at '{key}' in '{file}' is left out: it is ${{{variable}}}, and the "
            f"environment variable {variable} is not set"
        )


root_logger_factory = create_service_factory(core_services.root_logger, _root_logger)
"""The stdlib-logging root logger: level, format and secret redaction from config."""


def _logger(
    root: RootLoggerService = inject(core_services.root_logger),
    metadata: PluginMetadataService = inject(core_services.plugin_metadata),
) -> LoggerService:
    return root.child(plugin=metadata.get_id())


logger_factory = create_service_factory(core_services.logger, _logger)
"""The plugin logger: the root logger with a ``plugin`` field."""


def _hook_timeout(config: RootConfigService) -> timedelta:
    timeout = read_duration_from_config(
        config, SHUTDOWN_HOOK_TIMEOUT_KEY, DEFAULT_SHUTDOWN_HOOK_TIMEOUT
    )
    return DEFAULT_SHUTDOWN_HOOK_TIMEOUT if timeout is None else timeout


def _root_lifecycle(
    logger: RootLoggerService = inject(core_services.root_logger),
    config: RootConfigService = inject(core_services.root_config),
) -> RootLifecycleService:
    return DefaultRootLifecycle(logger, shutdown_timeout=_hook_timeout(config))


root_lifecycle_factory = create_service_factory(core_services.root_lifecycle, _root_lifecycle)
"""Backend-wide hooks."""


def _lifecycle(
    logger: LoggerService = inject(core_services.logger),
    config: RootConfigService = inject(core_services.root_config),
    metadata: PluginMetadataService = inject(core_services.plugin_metadata),
) -> LifecycleService:
    return DefaultLifecycle(
        logger, shutdown_timeout=_hook_timeout(config), plugin_id=metadata.get_id()
    )


lifecycle_factory = create_service_factory(core_services.lifecycle, _lifecycle)
"""Per-plugin hooks."""
