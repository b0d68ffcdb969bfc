"""The core service interfaces (``typing.Protocol`` classes) that plugins program against."""

from di_backend.services._config import ConfigService, JsonValue, RootConfigService
from di_backend.services._lifecycle import (
    LifecycleHook,
    LifecycleService,
    PluginLifecycleController,
    RootLifecycleController,
    RootLifecycleService,
)
from di_backend.services._logging import LoggerService, LogMeta, RootLoggerService
from di_backend.services._metadata import (
    InstalledModule,
    InstalledPlugin,
    PluginMetadataService,
    RootInstanceMetadataService,
)

__all__ = [
    "ConfigService",
    "InstalledModule",
    "InstalledPlugin",
    "JsonValue",
    "LifecycleHook",
    "LifecycleService",
    "LogMeta",
    "LoggerService",
    "PluginLifecycleController",
    "PluginMetadataService",
    "RootConfigService",
    "RootInstanceMetadataService",
    "RootLifecycleController",
    "RootLifecycleService",
    "RootLoggerService",
]
