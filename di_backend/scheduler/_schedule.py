"""Task schedules: cron (with Backstage's presets), durations and manual triggers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from di_backend.config import to_timedelta
from di_backend.http._errors import InputError
from di_backend.services import DurationLike, Frequency, JsonValue, TaskScope

__all__ = ["CRON_PRESETS", "TaskSettings", "next_cron_time", "parse_task_settings"]

CRON_PRESETS: Mapping[str, str] = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
    "@minutely": "0 * * * * *",
    "@secondly": "* * * * * *",
    "@weekdays": "0 0 0 * * 1-5",
    "@weekends": "0 0 0 * * 0,6",
}
"""Backstage's (``cron@3``) aliases, as six-field expressions with seconds first."""


def _expand(expression: str) -> str:
    text = expression.strip()
    if text.startswith("@"):
        preset = CRON_PRESETS.get(text.lower())
        if preset is None:
            msg = f"Unknown alias: {text}"
            raise ValueError(msg)
        return preset
    return text


def next_cron_time(expression: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that matches ``expression`` (local time zone).

    Raises:
        ValueError: the expression is invalid (the message says why).
    """
    from cronsim import CronSim, CronSimError

    fields = _expand(expression).split()  # six fields: seconds first (cronsim and cron@3)
    try:
        local = after.astimezone()
        return next(iter(CronSim(" ".join(fields), local.replace(microsecond=0)))).astimezone(UTC)
    except CronSimError as error:
        raise ValueError(str(error)) from None


def _iso(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"PT{seconds:g}S"


@dataclass(frozen=True, slots=True)
class TaskSettings:
    """A validated schedule.

    Attributes:
        kind: ``"cron"``, ``"manual"`` or ``"duration"``.
        cadence: the cron expression, ``"manual"`` or an ISO duration (Backstage's field).
        period: the period of a ``"duration"`` task.
        timeout: how long a run may take.
        initial_delay: the wait before the first run.
        scope: ``"global"`` or ``"local"``.
    """

    kind: Literal["cron", "manual", "duration"]
    cadence: str
    period: timedelta | None
    timeout: timedelta
    initial_delay: timedelta | None
    scope: TaskScope

    def to_json(self) -> dict[str, JsonValue]:
        """Backstage's settings object (``version`` 2)."""
        settings: dict[str, JsonValue] = {
            "version": 2,
            "cadence": self.cadence,
            "timeoutAfterDuration": _iso(self.timeout),
        }
        if self.initial_delay is not None:
            settings["initialDelayDuration"] = _iso(self.initial_delay)
        return settings

    def next_after(self, moment: datetime) -> datetime | None:
        """When a run after ``moment`` is due (``None`` for manual tasks)."""
        if self.kind == "manual":
            return None
        if self.kind == "cron":
            return next_cron_time(self.cadence, moment)
        assert self.period is not None
        return moment + self.period


def _duration(task_id: str, value: object, name: str) -> timedelta:
    try:
        delta = to_timedelta(value, f"{name} of task '{task_id}'")
    except (TypeError, ValueError) as error:
        raise InputError(str(error)) from None
    if delta < timedelta(0):
        msg = f"Invalid {name} of task '{task_id}': Negative durations are not allowed"
        raise InputError(msg)
    return delta


def parse_task_settings(
    task_id: object,
    frequency: Frequency,
    timeout: DurationLike,
    initial_delay: DurationLike | None,
    scope: object,
) -> TaskSettings:
    """Check a schedule as ``schedule_task`` receives it.

    Raises:
        InputError: naming the task id and the rule (Backstage's messages where it has them).
    """
    if not isinstance(task_id, str) or not task_id:
        msg = f"{task_id!r} is not a valid ID, expected non-empty string"
        raise InputError(msg)
    if scope not in ("global", "local"):
        msg = (
            'Only "global" or "local" are allowed for TaskScheduleDefinition.scope, '
            f"but got: {scope}"
        )
        raise InputError(msg)
    scope_value: TaskScope = "global" if scope == "global" else "local"
    timeout_delta = _duration(task_id, timeout, "timeout")
    if timeout_delta <= timedelta(0):
        msg = f"Invalid timeout of task '{task_id}': it must be positive"
        raise InputError(msg)
    delay = None if initial_delay is None else _duration(task_id, initial_delay, "initial_delay")
    raw: object = frequency
    if isinstance(raw, Mapping) and "cron" in raw:
        expression = raw["cron"]
        if not isinstance(expression, str):
            msg = f"Invalid cron for task '{task_id}': expected a string, got {expression!r}"
            raise InputError(msg)
        try:
            next_cron_time(expression, datetime.now(UTC))
        except ValueError as error:
            msg = f"Invalid cron '{expression}' for task '{task_id}': {error}"
            raise InputError(msg) from None
        return TaskSettings("cron", expression, None, timeout_delta, delay, scope_value)
    if isinstance(raw, Mapping) and "trigger" in raw:
        if raw["trigger"] != "manual":
            msg = f"Invalid trigger, expecting 'manual' (task '{task_id}'), got {raw['trigger']!r}"
            raise InputError(msg)
        return TaskSettings("manual", "manual", None, timeout_delta, delay, scope_value)
    try:
        period = to_timedelta(raw, f"frequency of task '{task_id}'")
    except (TypeError, ValueError) as error:
        msg = (
            f"{error}; a frequency is {{'cron': '*/5 * * * *'}}, {{'trigger': 'manual'}}, "
            "a timedelta or a duration dict such as {'minutes': 10}"
        )
        raise InputError(msg) from None
    if period <= timedelta(0):
        msg = f"Invalid frequency of task '{task_id}': the period must be positive"
        raise InputError(msg)
    return TaskSettings("duration", _iso(period), period, timeout_delta, delay, scope_value)
