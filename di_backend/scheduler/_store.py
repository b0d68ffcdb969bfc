"""The task table's statements (Backstage's ticket lock), for PostgreSQL and SQLite.

Every time comes from the database clock, as epoch seconds, so the clocks of
replicas never matter. The claim re-checks that the run is due, which closes
the double-run race of Backstage's own claim.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["MIGRATIONS", "VERSION_TABLE", "TaskRow", "TaskStore", "error_json"]

TABLE = "backstage_backend_tasks__tasks"
VERSION_TABLE = "backstage_backend_tasks__alembic_version"
MIGRATIONS = "di_backend.scheduler:migrations"


def error_json(message: str, name: str = "Error") -> str:
    """A serialized error as Backstage stores it."""
    return json.dumps({"name": name, "message": message})


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One row of the task table, with the database's ``now``."""

    id: str
    settings_json: str
    next_run_start_at: float | None
    current_run_ticket: str | None
    current_run_started_at: float | None
    current_run_expires_at: float | None
    last_run_error_json: str | None
    last_run_ended_at: float | None
    now: float

    @property
    def ready(self) -> bool:
        """Idle and due."""
        return (
            self.current_run_ticket is None
            and self.next_run_start_at is not None
            and self.next_run_start_at <= self.now
        )


class TaskStore:
    """The statements on one plugin's task table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        if self.dialect == "postgresql":
            self._now = "extract(epoch from clock_timestamp())::double precision"
            self._float = "DOUBLE PRECISION"
            self._greatest = "greatest"
        else:
            self._now = "((julianday('now') - 2440587.5) * 86400.0)"
            self._float = "REAL"
            self._greatest = "max"

    async def _execute(self, sql: str, params: dict[str, Any]) -> Any:
        from sqlalchemy import text

        async with self.engine.begin() as connection:
            return await connection.execute(text(sql), params)

    async def now(self) -> float:
        """The database clock."""
        result = await self._execute(f"SELECT {self._now}", {})
        return float(result.scalar_one())

    async def upsert(
        self, task_id: str, settings: str, start: float | None, next_start: float | None
    ) -> None:
        """Register a task; a sooner next run of a new schedule wins (Backstage's CASE)."""
        start_sql = f"CAST(:start AS {self._float})"
        next_sql = f"CAST(:next AS {self._float})"
        await self._execute(
            f"INSERT INTO {TABLE} (id, settings_json, next_run_start_at) "
            f"VALUES (:id, :settings, {start_sql}) "
            "ON CONFLICT (id) DO UPDATE SET settings_json = excluded.settings_json, "
            f"next_run_start_at = CASE WHEN {TABLE}.next_run_start_at IS NULL "
            f"OR {next_sql} < {TABLE}.next_run_start_at "
            f"THEN {next_sql} ELSE {TABLE}.next_run_start_at END",
            {"id": task_id, "settings": settings, "start": start, "next": next_start},
        )

    async def read(self, task_id: str) -> TaskRow | None:
        """The row of ``task_id`` and the database's now, or ``None``."""
        result = await self._execute(
            "SELECT id, settings_json, next_run_start_at, current_run_ticket, "
            "current_run_started_at, current_run_expires_at, last_run_error_json, "
            f"last_run_ended_at, {self._now} FROM {TABLE} WHERE id = :id",
            {"id": task_id},
        )
        row = result.first()
        return None if row is None else TaskRow(*row)

    async def claim(self, task_id: str, ticket: str, run_timeout: float) -> bool:
        """Take the run if it is idle **and due**; True when this ticket holds it."""
        result = await self._execute(
            f"UPDATE {TABLE} SET current_run_ticket = :ticket, "
            f"current_run_started_at = {self._now}, "
            f"current_run_expires_at = {self._now} + :timeout "
            "WHERE id = :id AND current_run_ticket IS NULL "
            f"AND next_run_start_at <= {self._now}",
            {"id": task_id, "ticket": ticket, "timeout": run_timeout},
        )
        return bool(result.rowcount == 1)

    async def release(
        self,
        task_id: str,
        ticket: str,
        *,
        next_at: float | None = None,
        period: float | None = None,
        keep_next: bool = False,
        error: str | None = None,
    ) -> bool:
        """End the run held by ``ticket`` and set the next one.

        ``period`` (duration tasks): ``greatest(previous + period, now)``;
        ``next_at``: an absolute time (cron; ``None`` for manual tasks);
        ``keep_next``: leave the due time alone (the run was aborted by shutdown).
        """
        if keep_next:
            next_sql = "next_run_start_at"
        elif period is not None:
            next_sql = f"{self._greatest}(next_run_start_at + :period, {self._now})"
        else:
            next_sql = f"CAST(:next AS {self._float})"
        result = await self._execute(
            f"UPDATE {TABLE} SET next_run_start_at = {next_sql}, current_run_ticket = NULL, "
            "current_run_started_at = NULL, current_run_expires_at = NULL, "
            f"last_run_ended_at = {self._now}, last_run_error_json = :error "
            "WHERE id = :id AND current_run_ticket = :ticket",
            {"id": task_id, "ticket": ticket, "next": next_at, "period": period, "error": error},
        )
        return bool(result.rowcount == 1)

    async def trigger(self, task_id: str) -> bool:
        """Make an idle task due now; False when it is running (or missing)."""
        result = await self._execute(
            f"UPDATE {TABLE} SET next_run_start_at = {self._now} "
            "WHERE id = :id AND current_run_ticket IS NULL",
            {"id": task_id},
        )
        return bool(result.rowcount == 1)

    async def free_expired(self) -> list[str]:
        """The janitor: free every run whose ticket expired; return their ids."""
        result = await self._execute(
            f"UPDATE {TABLE} SET current_run_ticket = NULL, current_run_started_at = NULL, "
            f"current_run_expires_at = NULL, last_run_ended_at = {self._now}, "
            f"last_run_error_json = :error WHERE current_run_expires_at < {self._now} "
            "RETURNING id",
            {"error": error_json("Task timed out")},
        )
        return [str(row[0]) for row in result.all()]
