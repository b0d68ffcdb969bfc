"""``run_migrations``: Alembic without env.py, idempotent, serialized across replicas."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from di_backend.database import run_migrations
from di_backend.testing import TestDatabases

MIGRATIONS = str(Path(__file__).parent / "todo_migrations")


async def test_migrations_reach_head_on_sqlite_and_rerun_is_a_no_op() -> None:
    """Both revisions apply once; running again changes nothing and records the head."""
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    try:
        await run_migrations(engine, MIGRATIONS)
        await run_migrations(engine, MIGRATIONS)
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO todos (title) VALUES ('x')"))
            done = (await connection.execute(text("SELECT done FROM todos"))).scalar()
            head = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert done in (0, False)
        assert head == [("0002_done",)]
    finally:
        await engine.dispose()


async def test_a_custom_version_table_keeps_histories_apart() -> None:
    """``version_table`` names the table that records the revision."""
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    try:
        await run_migrations(engine, MIGRATIONS, version_table="todo_versions")
        async with engine.connect() as connection:
            head = (await connection.execute(text("SELECT version_num FROM todo_versions"))).all()
        assert head == [("0002_done",)]
    finally:
        await engine.dispose()


async def test_replicas_migrating_at_once_on_postgres_all_succeed(
    test_databases: TestDatabases,
) -> None:
    """Five engines migrating one PostgreSQL database at the same moment: no duplicate-key error."""
    url = test_databases.new_database_url()
    engines = [create_async_engine(url) for _ in range(5)]
    try:
        await asyncio.gather(*(run_migrations(engine, MIGRATIONS) for engine in engines))
        async with engines[0].connect() as connection:
            head = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
            tables = (
                await connection.execute(
                    text("SELECT count(*) FROM pg_tables WHERE tablename = 'todos'")
                )
            ).scalar()
        assert head == [("0002_done",)]
        assert tables == 1
    finally:
        await asyncio.gather(*(engine.dispose() for engine in engines))


async def test_a_killed_holder_of_the_migration_lock_leaves_nothing_stuck(
    test_databases: TestDatabases,
) -> None:
    """A migration waits while another session holds the lock, and runs once that session dies."""
    import psycopg

    from di_backend.database._migrations import _lock_key

    url = test_databases.new_database_url()
    plain_url = url.replace("postgresql+psycopg://", "postgresql://")
    holder = await psycopg.AsyncConnection.connect(plain_url)
    engine = create_async_engine(url)
    try:
        cursor = await holder.execute("SELECT pg_backend_pid()")
        row = await cursor.fetchone()
        assert row is not None
        pid = int(row[0])
        await holder.execute(
            "SELECT pg_advisory_xact_lock(%s)", (_lock_key("public", "alembic_version"),)
        )
        migrating = asyncio.ensure_future(run_migrations(engine, MIGRATIONS))
        await asyncio.sleep(0.5)
        assert not migrating.done()  # serialized behind the holder
        async with await psycopg.AsyncConnection.connect(plain_url, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))  # as if it was killed
        async with asyncio.timeout(10):
            await migrating
        async with engine.connect() as connection:
            head = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert head == [("0002_done",)]
    finally:
        await holder.close()
        await engine.dispose()
