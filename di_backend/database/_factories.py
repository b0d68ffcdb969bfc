"""The default ``core.database`` factory."""

from __future__ import annotations

from di_backend._core_services import core_services
from di_backend._factories import create_service_factory
from di_backend._inject import inject
from di_backend.database._manager import DatabaseManager
from di_backend.services import (
    DatabaseService,
    PluginMetadataService,
    RootConfigService,
    RootLifecycleService,
    RootLoggerService,
)

__all__ = ["database_factory"]


def _context(
    config: RootConfigService = inject(core_services.root_config),
    lifecycle: RootLifecycleService = inject(core_services.root_lifecycle),
    logger: RootLoggerService = inject(core_services.root_logger),
) -> DatabaseManager:
    manager = DatabaseManager(config, logger.child(service="database"))
    lifecycle.add_shutdown_hook(manager.aclose)
    return manager


def _database(
    manager: DatabaseManager,
    metadata: PluginMetadataService = inject(core_services.plugin_metadata),
) -> DatabaseService:
    return manager.for_plugin(metadata.get_id())


database_factory = create_service_factory(
    core_services.database, _database, create_root_context=_context
)
"""Each plugin's own database from ``backend.database`` (in-memory SQLite without it)."""
