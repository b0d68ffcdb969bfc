"""``core_services``: the refs of the services every backend knows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

from di_backend._refs import ServiceRef, create_service_ref
from di_backend.services import (
    LifecycleService,
    LoggerService,
    PluginMetadataService,
    RootConfigService,
    RootInstanceMetadataService,
    RootLifecycleService,
    RootLoggerService,
)

if TYPE_CHECKING:
    from di_backend._factories import ServiceFactory

T = TypeVar("T")

__all__ = ["core_services"]


def _default(name: str) -> Callable[[ServiceRef[Any]], ServiceFactory[Any]]:
    """A ``default_factory`` that imports ``di_backend.defaults`` only when needed."""

    def load(ref: ServiceRef[Any]) -> ServiceFactory[Any]:
        from di_backend.defaults import _factories

        factory: ServiceFactory[Any] = getattr(_factories, name)
        return factory

    load.__qualname__ = f"default_factory[{name}]"
    return load


class core_services:
    """The refs of the core services (``core_services.logger`` and so on).

    The lifecycle, logger and config refs carry a ``default_factory``, so a
    backend made with ``create_specialized_backend([])`` still runs hooks,
    logs and reads (empty) configuration; ``create_backend()`` installs the
    full defaults (config files, environment overrides).
    """

    root_config: Final[ServiceRef[RootConfigService]] = create_service_ref(
        id="core.rootConfig", scope="root", default_factory=_default("empty_root_config_factory")
    )
    """The backend's configuration (root)."""
    root_logger: Final[ServiceRef[RootLoggerService]] = create_service_ref(
        id="core.rootLogger", scope="root", default_factory=_default("root_logger_factory")
    )
    """The backend-wide logger (root)."""
    logger: Final[ServiceRef[LoggerService]] = create_service_ref(
        id="core.logger", default_factory=_default("logger_factory")
    )
    """A logger with a ``plugin`` field (plugin)."""
    root_lifecycle: Final[ServiceRef[RootLifecycleService]] = create_service_ref(
        id="core.rootLifecycle",
        scope="root",
        default_factory=_default("root_lifecycle_factory"),
    )
    """Backend-wide startup, before-shutdown and shutdown hooks (root)."""
    lifecycle: Final[ServiceRef[LifecycleService]] = create_service_ref(
        id="core.lifecycle", default_factory=_default("lifecycle_factory")
    )
    """Startup and shutdown hooks of one plugin (plugin)."""
    plugin_metadata: Final[ServiceRef[PluginMetadataService]] = create_service_ref(
        id="core.pluginMetadata"
    )
    """The id of the plugin a service is created for (plugin; cannot be overridden)."""
    root_instance_metadata: Final[ServiceRef[RootInstanceMetadataService]] = create_service_ref(
        id="core.rootInstanceMetadata", scope="root"
    )
    """The plugins and modules installed in this backend (root; provided by the backend)."""
