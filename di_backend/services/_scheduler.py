"""``SchedulerService``: scheduled tasks of a plugin, once per period across replicas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, Protocol, TypeAlias, TypedDict

from di_backend.services._config import JsonValue
from di_backend.services._durations import DurationLike, HumanDuration

__all__ = [
    "AbortSignal",
    "CronFrequency",
    "Frequency",
    "ManualFrequency",
    "SchedulerService",
    "TaskDescriptor",
    "TaskFunction",
    "TaskRunner",
    "TaskScheduleDefinition",
    "TaskScope",
]


class CronFrequency(TypedDict):
    """Run on a cron schedule: ``{"cron": "*/5 * * * *"}`` (6 fields put seconds first)."""

    cron: str


class ManualFrequency(TypedDict):
    """Run only when triggered: ``{"trigger": "manual"}``."""

    trigger: Literal["manual"]


Frequency: TypeAlias = CronFrequency | ManualFrequency | timedelta | HumanDuration
"""How often a task runs: cron, manual, or every ``timedelta`` / ``HumanDuration``."""

TaskScope: TypeAlias = Literal["global", "local"]
"""``"global"``: once per period across every process; ``"local"``: in each process."""


class AbortSignal(Protocol):
    """Fires when a run must end: its timeout, a cancel, the backend stopping."""

    @property
    def aborted(self) -> bool:
        """True once the signal fired."""
        ...

    @property
    def reason(self) -> BaseException | None:
        """Why it fired (``None`` before)."""
        ...

    async def wait(self) -> None:
        """Return once the signal fired."""
        ...


TaskFunction: TypeAlias = Callable[[], Awaitable[None]] | Callable[[AbortSignal], Awaitable[None]]
"""A task body: an ``async def`` taking the run's :class:`AbortSignal`, or nothing."""


@dataclass(frozen=True, slots=True)
class TaskScheduleDefinition:
    """A schedule without the task (see ``create_scheduled_task_runner``).

    Attributes:
        frequency: how often.
        timeout: how long a run may take before it is aborted and cancelled.
        initial_delay: how long to wait after start before the first run.
        scope: ``"global"`` or ``"local"``.
    """

    frequency: Frequency
    timeout: DurationLike
    initial_delay: DurationLike | None = None
    scope: TaskScope = "global"


@dataclass(frozen=True, slots=True)
class TaskDescriptor:
    """A task scheduled in this process.

    Attributes:
        id: the task id.
        scope: ``"global"`` or ``"local"``.
        settings: Backstage's settings object (``{"version": 2, "cadence": ...}``).
    """

    id: str
    scope: TaskScope
    settings: Mapping[str, JsonValue]


class TaskRunner(Protocol):
    """Schedules tasks with a fixed schedule (``create_scheduled_task_runner``)."""

    async def run(self, *, id: str, fn: TaskFunction, signal: AbortSignal | None = None) -> None:
        """Schedule ``fn`` under ``id`` with the runner's schedule."""
        ...


class SchedulerService(Protocol):
    """A plugin's scheduled tasks (``core.scheduler``).

    ``global`` tasks run at most once per period across every process that
    shares the plugin's database; ``local`` tasks run in each process, never
    overlapping themselves.
    """

    async def schedule_task(
        self,
        *,
        id: str,
        fn: TaskFunction,
        frequency: Frequency,
        timeout: DurationLike,  # noqa: ASYNC109 (a task's schedule, not this call's)
        initial_delay: DurationLike | None = None,
        scope: TaskScope = "global",
        signal: AbortSignal | None = None,
    ) -> None:
        """Register and start a task.

        Raises:
            InputError: an empty id, or a frequency, timeout or scope none of the forms.
        """
        ...

    def create_scheduled_task_runner(self, schedule: TaskScheduleDefinition) -> TaskRunner:
        """Return a runner that schedules tasks with ``schedule``."""
        ...

    async def trigger_task(self, id: str) -> None:
        """Run the task now (``NotFoundError`` if unknown, ``ResourceConflictError`` if running)."""
        ...

    async def cancel_task(self, id: str) -> None:
        """Abort the running task (``NotFoundError``; ``ResourceConflictError`` if not running)."""
        ...

    async def get_scheduled_tasks(self) -> list[TaskDescriptor]:
        """Return the tasks scheduled in this process."""
        ...
