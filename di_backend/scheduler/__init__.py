"""The scheduler service: Backstage's ticket-locked task table on SQLAlchemy.

See ``docs/data-services.md``.
"""

from di_backend.scheduler._factories import scheduler_factory
from di_backend.scheduler._schedule import CRON_PRESETS, next_cron_time
from di_backend.scheduler._service import PluginScheduler, ScheduledTaskRunner
from di_backend.scheduler._signal import AbortController, Signal, TaskAbortedError

__all__ = [
    "CRON_PRESETS",
    "AbortController",
    "PluginScheduler",
    "ScheduledTaskRunner",
    "Signal",
    "TaskAbortedError",
    "next_cron_time",
    "scheduler_factory",
]
