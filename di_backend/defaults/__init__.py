"""Default implementations of the core services (Backstage's ``backend-defaults``).

:func:`~di_backend.create_backend` installs every factory listed here. Add one
to a specialized backend, or call :data:`root_config_factory` with options::

    backend.add(root_config_factory(paths=["app-config.yaml", "app-config.prod.yaml"]))

The feature loaders add features named in configuration: ``backend.features``
(import strings) and, with ``backend.packages``, the ``di_backend.features`` entry
points of installed distributions.
"""

from di_backend._feature_loaders import (
    ENTRY_POINT_GROUP,
    config_feature_loader,
    discovery_feature_loader,
)
from di_backend.defaults._config_factory import RootConfigFactory, root_config_factory
from di_backend.defaults._factories import (
    empty_root_config_factory,
    lifecycle_factory,
    logger_factory,
    root_lifecycle_factory,
    root_logger_factory,
)
from di_backend.defaults._logging import (
    LOG_LEVELS,
    DefaultRootLogger,
    LogFormat,
    LogLevel,
    plugin_logger,
)

__all__ = [
    # service factories
    "RootConfigFactory",
    "empty_root_config_factory",
    "lifecycle_factory",
    "logger_factory",
    "root_config_factory",
    "root_lifecycle_factory",
    "root_logger_factory",
    # the default logger
    "LOG_LEVELS",
    "DefaultRootLogger",
    "LogFormat",
    "LogLevel",
    "plugin_logger",
    # feature loaders
    "ENTRY_POINT_GROUP",
    "config_feature_loader",
    "discovery_feature_loader",
]
