"""``DatabaseManager``: one lazily created engine per plugin, disposed at backend stop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from di_backend._once import AsyncOnce
from di_backend.database._settings import PluginDatabaseSettings, read_plugin_database_settings
from di_backend.errors import DiBackendError, describe_error
from di_backend.services import ConfigService, LoggerService

if TYPE_CHECKING:
    from sqlalchemy.engine import URL
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["DatabaseConnectionError", "DatabaseManager", "PluginDatabase"]


class DatabaseConnectionError(DiBackendError, ConnectionError):
    """Raised when a plugin's database cannot be reached or created."""


@dataclass(frozen=True, slots=True)
class _Migrations:
    skip: bool


class PluginDatabase:
    """One plugin's :class:`~di_backend.services.DatabaseService`.

    The engine (and, on PostgreSQL, the database or schema) is created on the
    first :meth:`get_client`; concurrent first calls share one creation.
    """

    def __init__(self, manager: DatabaseManager, settings: PluginDatabaseSettings) -> None:
        self._manager = manager
        self.settings = settings
        self._engine = AsyncOnce(lambda: manager.connect(settings))

    def __repr__(self) -> str:
        return f"<PluginDatabase {self.settings.plugin_id} at {self.settings.where}>"

    @property
    def migrations(self) -> _Migrations:
        """Whether migrations are to be skipped (``skipMigrations``)."""
        return _Migrations(skip=self.settings.skip_migrations)

    async def get_client(self) -> AsyncEngine:
        """Return the plugin's engine, creating it (and its database) on the first call."""
        return await self._engine.get()


class DatabaseManager:
    """The root context of the database service: settings, engines and their disposal."""

    def __init__(self, config: ConfigService, logger: LoggerService) -> None:
        self._config = config
        self._logger = logger
        self._engines: dict[str, AsyncEngine] = {}
        self._ddl = asyncio.Lock()  # existence checks of one process run one at a time
        self._checked: set[str] = set()

    def for_plugin(self, plugin_id: str) -> PluginDatabase:
        """Return the database service of ``plugin_id`` (settings are checked now)."""
        return PluginDatabase(self, read_plugin_database_settings(self._config, plugin_id))

    async def connect(self, settings: PluginDatabaseSettings) -> AsyncEngine:
        """Create the plugin's engine; on PostgreSQL make its database exist and check it."""
        from sqlalchemy.ext.asyncio import create_async_engine

        if settings.family == "sqlite":
            engine = _sqlite_engine(settings)
            # In-memory SQLite keeps one connection (StaticPool): open it now, so that
            # concurrent first uses cannot each open one and leak the loser.
            async with engine.connect():
                pass
        else:
            if settings.ensure_exists:
                await self._ensure_database(settings)
            engine = create_async_engine(
                settings.url,
                pool_size=settings.pool_size,
                max_overflow=0,
                pool_timeout=settings.pool_timeout,
                pool_pre_ping=True,
                connect_args={**settings.connect_args, "connect_timeout": 10},
            )
            _on_connect(engine, settings)
            try:
                await self._check(engine, settings)
            except BaseException:
                await engine.dispose()
                raise
        self._engines[settings.plugin_id] = engine
        return engine

    async def _check(self, engine: AsyncEngine, settings: PluginDatabaseSettings) -> None:
        from sqlalchemy import text

        try:
            async with engine.begin() as connection:
                if settings.schema is not None and settings.ensure_exists:
                    quoted = engine.dialect.identifier_preparer.quote(settings.schema)
                    owner = ""
                    if settings.role:
                        role = engine.dialect.identifier_preparer.quote(settings.role)
                        owner = f" AUTHORIZATION {role}"
                    await connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted}{owner}"))
                else:
                    await connection.execute(text("SELECT 1"))
        except Exception as error:
            if settings.schema is not None:
                msg = (
                    "Failed to connect to the database to make sure that schema for plugin "
                    f"'{settings.plugin_id}' exists, {describe_error(error)}"
                )
            else:
                msg = (
                    f"Failed to connect to the database of plugin '{settings.plugin_id}' at "
                    f"{settings.where}, {describe_error(error)}"
                )
            raise DatabaseConnectionError(msg) from error

    async def _ensure_database(self, settings: PluginDatabaseSettings) -> None:
        """``CREATE DATABASE`` when missing; another replica winning the race is success."""
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError
        from sqlalchemy.ext.asyncio import create_async_engine
        from sqlalchemy.pool import NullPool

        name = settings.database
        if name in self._checked:
            return
        admin = create_async_engine(
            settings.url.set(database="postgres"),
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={**settings.connect_args, "connect_timeout": 10, "options": ""},
        )
        try:
            async with self._ddl, admin.connect() as connection:
                exists = await connection.scalar(
                    text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}
                )
                if not exists:
                    quoted = admin.dialect.identifier_preparer.quote(name)
                    try:
                        await connection.execute(text(f"CREATE DATABASE {quoted}"))
                    except DBAPIError as error:
                        if _sqlstate(error) not in ("42P04", "23505"):  # duplicate db / key
                            raise
            self._checked.add(name)
        except Exception as error:
            msg = (
                f"Failed to connect to the database to make sure that '{name}' exists, "
                f"{describe_error(error)} (plugin '{settings.plugin_id}', "
                f"{settings.url.host or 'localhost'}:{settings.url.port or 5432})"
            )
            raise DatabaseConnectionError(msg) from error
        finally:
            await admin.dispose()

    async def aclose(self) -> None:
        """Dispose every engine (closing every connection); problems are logged, not raised."""
        engines, self._engines = self._engines, {}
        for plugin_id, engine in engines.items():
            try:
                await engine.dispose()
            except Exception as error:
                self._logger.error(
                    f"Problem closing database connection for {plugin_id}: {describe_error(error)}"
                )


def _sqlstate(error: Exception) -> str | None:
    original = getattr(error, "orig", None)
    state = getattr(original, "sqlstate", None)
    return state if isinstance(state, str) else None


def memory_sqlite_engine(url: str | URL = "sqlite+aiosqlite:///:memory:") -> AsyncEngine:
    """An engine on one in-memory SQLite database that one user holds at a time.

    An in-memory database lives in its one connection. SQLAlchemy's default for
    it, ``StaticPool``, hands that connection to every coroutine at once, so two
    transactions interleave on it and the pool's rollback-on-return of one undoes
    the other's committed-looking writes (a trigger whose ``UPDATE`` reported one
    row was lost that way). A queue pool of exactly one connection, never
    overflowing, makes concurrent users wait their turn instead.
    """
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import AsyncAdaptedQueuePool

    return create_async_engine(
        url, poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0, pool_timeout=30
    )


def _sqlite_engine(settings: PluginDatabaseSettings) -> AsyncEngine:
    from sqlalchemy.ext.asyncio import create_async_engine

    if settings.database == ":memory:":
        engine = memory_sqlite_engine(settings.url)
    else:
        Path(settings.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(settings.url)
    _on_connect(engine, settings)
    return engine


def _on_connect(engine: AsyncEngine, settings: PluginDatabaseSettings) -> None:
    from sqlalchemy import event

    def configure(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        if settings.family == "sqlite":
            cursor.execute("PRAGMA foreign_keys = ON")
            if settings.database != ":memory:":
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA busy_timeout = 5000")
        elif settings.role:
            cursor.execute(f'SET ROLE "{settings.role}"')
        cursor.close()

    event.listen(engine.sync_engine, "connect", configure)
