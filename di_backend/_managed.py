"""``managed_service_factory``: a plugin service handed out by one root manager per backend.

The database and cache services share this shape: the root context builds a
manager from the config and the root logger and closes it at root shutdown;
each plugin's service is ``manager.for_plugin(plugin_id)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from di_backend._core_services import core_services
from di_backend._factories import ServiceFactory, create_service_factory
from di_backend._inject import inject
from di_backend._refs import ServiceRef
from di_backend.services import (
    LoggerService,
    PluginMetadataService,
    RootConfigService,
    RootLifecycleService,
    RootLoggerService,
)

__all__ = ["PluginServiceManager", "managed_service_factory"]

S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)


class PluginServiceManager(Protocol[S_co]):
    """A root manager: one service per plugin, and a close for root shutdown."""

    def for_plugin(self, plugin_id: str) -> S_co:
        """The service of ``plugin_id``."""
        ...

    def aclose(self) -> Awaitable[None]:
        """Release what the manager holds."""
        ...


def managed_service_factory(
    ref: ServiceRef[S],
    make_manager: Callable[[RootConfigService, LoggerService], PluginServiceManager[S]],
    *,
    service: str,
) -> ServiceFactory[S]:
    """The factory of ``ref``: a manager per backend, ``manager.for_plugin(id)`` per plugin.

    Args:
        ref: the plugin-scoped service ref.
        make_manager: builds the manager from the root config and a root logger child.
        service: the ``service`` field of that logger child (``"database"``).
    """

    def context(
        config: RootConfigService = inject(core_services.root_config),
        lifecycle: RootLifecycleService = inject(core_services.root_lifecycle),
        logger: RootLoggerService = inject(core_services.root_logger),
    ) -> PluginServiceManager[S]:
        manager = make_manager(config, logger.child(service=service))
        lifecycle.add_shutdown_hook(manager.aclose)
        return manager

    def for_plugin(
        manager: PluginServiceManager[S],
        metadata: PluginMetadataService = inject(core_services.plugin_metadata),
    ) -> S:
        return manager.for_plugin(metadata.get_id())

    context.__qualname__ = f"{service}_root_context"
    for_plugin.__qualname__ = f"{service}_for_plugin"
    return create_service_factory(ref, for_plugin, create_root_context=context)
