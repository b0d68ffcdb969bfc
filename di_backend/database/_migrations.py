"""``run_migrations``: a plugin's Alembic history, serialized across replicas."""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["run_migrations"]

# SQLite has no advisory locks: one process serializes its own runs per engine.
_sqlite_locks: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


def _lock_key(schema: str, version_table: str) -> int:
    digest = hashlib.sha256(f"di_backend:{schema}:{version_table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def run_migrations(
    engine: AsyncEngine, script_location: str, *, version_table: str = "alembic_version"
) -> None:
    """Upgrade ``engine``'s database to the head of the Alembic history at ``script_location``.

    ``script_location`` is a directory or ``"package:folder"`` holding ``versions/``;
    no ``env.py`` or ``alembic.ini`` is needed. The upgrade runs in one
    transaction that first takes a PostgreSQL advisory lock, so replicas that
    start together migrate one after the other (and a killed process never
    leaves a lock behind: it ends with its connection). On SQLite, runs of one
    process are serialized.

    Args:
        engine: the plugin's engine (``await database.get_client()``).
        script_location: where the migration scripts are.
        version_table: the table that records the applied revision.
    """
    if engine.dialect.name == "sqlite":
        lock = _sqlite_locks.setdefault(engine.sync_engine, asyncio.Lock())
        async with lock, engine.begin() as connection:
            await connection.run_sync(_upgrade, script_location, version_table)
        return
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, script_location, version_table)


def _upgrade(connection: Connection, script_location: str, version_table: str) -> None:
    from alembic.config import Config
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    config = Config()
    config.set_main_option("script_location", script_location)
    script = ScriptDirectory.from_config(config)

    def upgrade(revision: Any, _context: Any) -> Any:
        return script._upgrade_revs("head", revision)

    if connection.dialect.name == "postgresql":
        schema = connection.scalar(text("SELECT current_schema()")) or "public"
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": _lock_key(str(schema), version_table)},
        )
    with EnvironmentContext(config, script, fn=upgrade, destination_rev="head") as env:
        env.configure(connection=connection, version_table=version_table, transactional_ddl=True)
        with env.begin_transaction():
            env.run_migrations()
