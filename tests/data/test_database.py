"""The database service on SQLite and a real PostgreSQL: isolation, config, lifecycle."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from data_support import backend_with, plugin
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from di_backend import BackendStartupError, core_services, inject
from di_backend.config import ConfigReader
from di_backend.database import DatabaseManager, read_plugin_database_settings
from di_backend.errors import ConfigError
from di_backend.services import DatabaseService
from di_backend.testing import MockLogger, TestDatabases, free_port


def _settings(data: dict[str, Any], plugin_id: str = "todo") -> Any:
    return read_plugin_database_settings(ConfigReader(data, "test"), plugin_id)


def _pg_config(databases: TestDatabases, **extra: Any) -> dict[str, Any]:
    section = databases.database_config("POSTGRES")
    section.update(extra)
    return {"backend": {"database": section}}


async def _counts(databases: TestDatabases, application_name: str) -> int:
    import psycopg

    async with await psycopg.AsyncConnection.connect(databases.server().url) as connection:
        cursor = await connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        )
        row = await cursor.fetchone()
        return int(row[0]) if row else 0


class Recorder:
    """Collects each plugin's engine in its init."""

    def __init__(self) -> None:
        self.engines: dict[str, AsyncEngine] = {}

    def init(self, plugin_id: str) -> Any:
        async def init(database: DatabaseService = inject(core_services.database)) -> None:
            first, second = await asyncio.gather(database.get_client(), database.get_client())
            assert first is second
            assert await database.get_client() is first
            self.engines[plugin_id] = first

        return plugin(plugin_id, init)


async def test_default_is_one_in_memory_sqlite_database_per_plugin() -> None:
    """Without ``backend.database`` two plugins each create table ``t`` without conflict."""
    recorder = Recorder()
    backend = await backend_with({}, recorder.init("a"), recorder.init("b"))
    try:
        for name, engine in recorder.engines.items():
            assert engine.dialect.name == "sqlite"
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (owner TEXT)"))
                await connection.execute(text("INSERT INTO t VALUES (:o)"), {"o": name})
        for name, engine in recorder.engines.items():
            async with engine.connect() as connection:
                rows = (await connection.execute(text("SELECT owner FROM t"))).all()
            assert rows == [(name,)]
    finally:
        await backend.stop()


async def test_concurrent_transactions_on_the_in_memory_database_lose_no_write() -> None:
    """Fifty concurrent writers and readers on a plugin's in-memory SQLite all keep their rows.

    With SQLAlchemy's default ``StaticPool`` the transactions share one connection and
    the pool's rollback-on-return undoes the others' writes (measured: 1 row of 50).
    """
    recorder = Recorder()
    backend = await backend_with({}, recorder.init("a"))
    try:
        engine = recorder.engines["a"]
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (n INTEGER)"))

        async def writer(n: int) -> None:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                await asyncio.sleep(0)

        async def reader() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT count(*) FROM t"))

        async with asyncio.timeout(30):
            await asyncio.gather(*(job for n in range(50) for job in (writer(n), reader())))
        async with engine.connect() as connection:
            count = (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one()
    finally:
        await backend.stop()
    assert count == 50


async def test_sqlite_directory_gives_each_plugin_a_file(tmp_path: Any) -> None:
    """``connection.directory`` puts ``<pluginId>.sqlite`` there, and data survives a restart."""
    config = {
        "backend": {
            "database": {"client": "better-sqlite3", "connection": {"directory": str(tmp_path)}}
        }
    }
    for round_ in range(2):
        recorder = Recorder()
        backend = await backend_with(config, recorder.init("files"))
        engine = recorder.engines["files"]
        async with engine.begin() as connection:
            if round_ == 0:
                await connection.execute(text("CREATE TABLE kept (n INT)"))
                await connection.execute(text("INSERT INTO kept VALUES (7)"))
            else:
                assert (await connection.execute(text("SELECT n FROM kept"))).scalar() == 7
        await backend.stop()
    assert (tmp_path / "files.sqlite").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"client": "mongo"},
            "Unsupported database client type 'mongo' specified for plugin 'todo' "
            "(at 'backend.database.client'); expected one of 'pg', 'better-sqlite3', 'sqlite3'",
        ),
        (
            {"client": "sqlite3", "connection": {"filename": "x.db"}},
            "`connection.filename` is not supported for the base sqlite connection.",
        ),
        (
            {"client": "sqlite3", "pluginDivisionMode": "schema"},
            "The SQLite driver does not support plugin division mode 'schema'",
        ),
        (
            {"client": "pg", "pluginDivisionMode": "schema", "schemaPrefix": "1bad"},
            'Invalid schemaPrefix "1bad". Schema prefix must start with a letter',
        ),
        (
            {"client": "pg", "pluginDivisionMode": "schema", "schemaPrefix": "ok\n"},
            'Invalid schemaPrefix "ok\n". Schema prefix must start with a letter',
        ),
        (
            {"client": "pg", "pluginDivisionMode": "schema", "schemaPrefix": "p" * 60},
            'PostgreSQL schema name "' + "p" * 60 + 'todo" exceeds the 63-byte limit.',
        ),
        (
            {"client": "pg", "connection": "mysql://u@h/db"},
            "Invalid config at 'backend.database.connection': a 'pg' connection URL must start",
        ),
        (
            {"client": "pg", "connection": "not a url"},
            "Invalid config at 'backend.database.connection': 'not a url' is not a connection URL",
        ),
        (
            {"client": "pg", "pluginDivisionMode": "tables"},
            "Invalid config at 'backend.database.pluginDivisionMode': 'tables'",
        ),
        ({"connection": ":memory:"}, "Missing required config value at 'backend.database.client'"),
    ],
)
def test_bad_database_config_names_the_key_and_the_rule(data: dict[str, Any], message: str) -> None:
    """Each malformed ``backend.database`` is a ConfigError with Backstage's wording."""
    with pytest.raises(ConfigError) as caught:
        _settings({"backend": {"database": data}})
    assert str(caught.value).startswith(message)


def test_connection_password_never_appears_in_where() -> None:
    """The description used in messages names host, port and database but not the password."""
    settings = _settings(
        {
            "backend": {
                "database": {
                    "client": "pg",
                    "connection": "postgresql://u:s3cret@db.example:6543/x",
                }
            }
        }
    )
    assert settings.where == "db.example:6543/backstage_plugin_todo"
    assert "s3cret" not in repr(settings.where)


def test_plugin_overrides_beat_the_base_settings() -> None:
    """``backend.database.plugin.<id>`` overrides connection, skipMigrations and the client."""
    data = {
        "backend": {
            "database": {
                "client": "pg",
                "connection": {"host": "base", "user": "u", "database": "ignored"},
                "skipMigrations": False,
                "plugin": {
                    "todo": {"connection": {"host": "own"}, "skipMigrations": True},
                    "local": {"client": "better-sqlite3", "connection": ":memory:"},
                },
            }
        }
    }
    todo = _settings(data)
    assert (todo.url.host, todo.database, todo.skip_migrations) == (
        "own",
        "backstage_plugin_todo",
        True,
    )
    assert todo.connect_args["application_name"] == "backstage_plugin_todo"
    assert _settings(data, "other").url.host == "base"
    assert _settings(data, "local").family == "sqlite"


async def test_postgres_gives_each_plugin_its_own_database(test_databases: TestDatabases) -> None:
    """Database mode: ``<prefix><pluginId>`` is created, named in application_name, isolated."""
    recorder = Recorder()
    config = _pg_config(test_databases)
    prefix = config["backend"]["database"]["prefix"]
    backend = await backend_with(config, recorder.init("a"), recorder.init("b"))
    try:
        a, b = recorder.engines["a"], recorder.engines["b"]
        async with a.begin() as connection:
            await connection.execute(text("CREATE TABLE a_table (n INT)"))
            name, app = (
                await connection.execute(
                    text("SELECT current_database(), current_setting('application_name')")
                )
            ).one()
        assert (name, app) == (f"{prefix}a", "backstage_plugin_a")
        async with b.connect() as connection:
            with pytest.raises(DBAPIError, match=r"UndefinedTable|does not exist"):
                await connection.execute(text("SELECT * FROM a_table"))
        assert await _counts(test_databases, "backstage_plugin_a") >= 1
    finally:
        await backend.stop()
    assert await _counts(test_databases, "backstage_plugin_a") == 0
    assert await _counts(test_databases, "backstage_plugin_b") == 0


async def test_postgres_schema_mode_gives_each_plugin_a_schema(
    test_databases: TestDatabases,
) -> None:
    """Schema mode: schemas ``a`` and ``b`` in one database; unqualified access stays apart."""
    url = test_databases.new_database_url()
    database = url.rsplit("/", 1)[1]
    connection_config = {**(test_databases.server().connection or {}), "database": database}
    config = {
        "backend": {
            "database": {
                "client": "pg",
                "pluginDivisionMode": "schema",
                "connection": connection_config,
            }
        }
    }
    recorder = Recorder()
    backend = await backend_with(config, recorder.init("a"), recorder.init("b"))
    try:
        async with recorder.engines["a"].begin() as connection:
            await connection.execute(text("CREATE TABLE only_a (n INT)"))
            assert (await connection.execute(text("SELECT current_schema()"))).scalar() == "a"
        async with recorder.engines["b"].connect() as connection:
            assert (
                await connection.execute(text("SELECT current_database()"))
            ).scalar() == database
            with pytest.raises(DBAPIError, match="does not exist"):
                await connection.execute(text("SELECT * FROM only_a"))
            await connection.rollback()
            # isolation is by search path, not by privilege: qualified access works
            await connection.execute(text("SELECT * FROM a.only_a"))
    finally:
        await backend.stop()


async def test_concurrent_managers_creating_one_database_all_succeed(
    test_databases: TestDatabases,
) -> None:
    """Three replicas racing to create the same plugin database all get a working engine."""
    config = ConfigReader(_pg_config(test_databases), "test")
    managers = [DatabaseManager(config, MockLogger()) for _ in range(3)]
    engines = await asyncio.gather(*(m.for_plugin("race").get_client() for m in managers))
    for engine in engines:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    await asyncio.gather(*(m.aclose() for m in managers))


async def test_unreachable_database_fails_the_plugin_with_host_and_cause() -> None:
    """A closed port makes the plugin's start fail naming the plugin, the host and the cause."""
    port = free_port()
    config = {
        "backend": {
            "database": {
                "client": "pg",
                "connection": {"host": "127.0.0.1", "port": port, "user": "x"},
            }
        }
    }
    recorder = Recorder()
    with pytest.raises(BackendStartupError) as caught:
        await backend_with(config, recorder.init("down"))
    cause = caught.value.result.plugins[0].failure
    assert cause is not None
    message = str(cause.error)
    assert (
        "Failed to connect to the database to make sure that 'backstage_plugin_down' exists"
        in message
    )
    assert f"127.0.0.1:{port}" in message
    assert isinstance(cause.error.__cause__, OperationalError)
