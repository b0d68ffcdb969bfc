"""The default ``core.scheduler`` factory."""

from __future__ import annotations

from datetime import timedelta

from di_backend._core_services import core_services
from di_backend._factories import create_service_factory
from di_backend._inject import inject
from di_backend.config import read_duration_from_config
from di_backend.scheduler._router import scheduler_router
from di_backend.scheduler._service import PluginScheduler
from di_backend.services import (
    DatabaseService,
    HttpRouterService,
    LifecycleService,
    LoggerService,
    PluginMetadataService,
    RootConfigService,
    SchedulerService,
)

__all__ = ["scheduler_factory"]

JANITOR_INTERVAL_KEY = "backend.scheduler.janitorInterval"


def _scheduler(
    *,
    database: DatabaseService = inject(core_services.database),
    logger: LoggerService = inject(core_services.logger),
    lifecycle: LifecycleService = inject(core_services.lifecycle),
    http_router: HttpRouterService = inject(core_services.http_router),
    metadata: PluginMetadataService = inject(core_services.plugin_metadata),
    config: RootConfigService = inject(core_services.root_config),
) -> SchedulerService:
    interval = read_duration_from_config(config, JANITOR_INTERVAL_KEY, timedelta(minutes=1))
    scheduler = PluginScheduler(
        metadata.get_id(),
        database,
        logger,
        janitor_interval=interval or timedelta(minutes=1),
    )
    http_router.use(scheduler_router(scheduler))
    lifecycle.add_shutdown_hook(scheduler.stop)
    return scheduler


scheduler_factory = create_service_factory(core_services.scheduler, _scheduler)
"""Global tasks on the plugin's database, local tasks in memory, and the HTTP API."""
