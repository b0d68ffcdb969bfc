"""The default ``core.cache`` factory."""

from __future__ import annotations

from di_backend._core_services import core_services
from di_backend._factories import create_service_factory
from di_backend._inject import inject
from di_backend.cache._manager import CacheManager
from di_backend.services import (
    CacheService,
    PluginMetadataService,
    RootConfigService,
    RootLifecycleService,
    RootLoggerService,
)

__all__ = ["cache_factory"]


def _context(
    config: RootConfigService = inject(core_services.root_config),
    lifecycle: RootLifecycleService = inject(core_services.root_lifecycle),
    logger: RootLoggerService = inject(core_services.root_logger),
) -> CacheManager:
    manager = CacheManager(config, logger.child(service="cache"))
    lifecycle.add_shutdown_hook(manager.aclose)
    return manager


def _cache(
    manager: CacheManager,
    metadata: PluginMetadataService = inject(core_services.plugin_metadata),
) -> CacheService:
    return manager.for_plugin(metadata.get_id())


cache_factory = create_service_factory(core_services.cache, _cache, create_root_context=_context)
"""Each plugin's private cache on ``backend.cache.store`` (``memory`` by default)."""
