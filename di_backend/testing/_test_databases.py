"""``TestDatabases`` and ``TestCaches``: fresh databases and caches on real servers."""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING, Literal

from di_backend.testing._servers import ServerInfo, find_postgres, find_redis

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from di_backend.services import JsonValue

__all__ = ["DatabaseId", "TestCaches", "TestDatabases", "require_server"]

DatabaseId = Literal["POSTGRES", "SQLITE"]
_DATABASE_IDS: tuple[DatabaseId, ...] = ("POSTGRES", "SQLITE")


def require_server(found: ServerInfo | str, what: str) -> ServerInfo:
    """Return the server, or skip the test with the reason (fail instead when ``CI`` is set)."""
    import pytest

    if isinstance(found, ServerInfo):
        return found
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required when CI is set: {found}")
    raise pytest.skip.Exception(found)


class TestDatabases:
    """Fresh databases for a test: ``"POSTGRES"`` (a real server) and ``"SQLITE"`` (memory).

    ``await init(id)`` returns an engine on a new, empty database;
    ``database_config(id)`` returns a ``backend.database`` section whose
    plugin databases are new and private to this object. :meth:`drop_all`
    (the ``test_databases`` fixture calls it) drops every database made.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, ids: tuple[DatabaseId, ...] = _DATABASE_IDS) -> None:
        unknown = [i for i in ids if i not in _DATABASE_IDS]
        if unknown:
            msg = f"Unknown test database {unknown[0]}, possible values are {list(_DATABASE_IDS)}"
            raise ValueError(msg)
        self._ids = ids
        self._prefixes: list[str] = []
        self._engines: list[AsyncEngine] = []

    def supports(self, id: DatabaseId) -> bool:
        """True when ``id`` can be had here (PostgreSQL needs a server)."""
        return id in self._ids and (id == "SQLITE" or not isinstance(find_postgres(), str))

    def server(self) -> ServerInfo:
        """The PostgreSQL server (skips the test, or fails under ``CI``, without one)."""
        return require_server(find_postgres(), "PostgreSQL")

    def database_config(self, id: DatabaseId) -> dict[str, JsonValue]:
        """A ``backend.database`` section: on PostgreSQL, plugin databases with a fresh prefix."""
        if id == "SQLITE":
            return {"client": "better-sqlite3", "connection": ":memory:"}
        server = self.server()
        prefix = f"t{uuid.uuid4().hex[:12]}_"
        self._prefixes.append(prefix)
        connection: dict[str, JsonValue] = dict(server.connection or {})
        return {"client": "pg", "connection": connection, "prefix": prefix}

    def new_database_url(self) -> str:
        """Create an empty PostgreSQL database and return its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql
        from sqlalchemy.engine import make_url

        server = self.server()
        name = f"t{uuid.uuid4().hex[:12]}_db"
        self._prefixes.append(name)
        with psycopg.connect(server.url, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = make_url(server.url).set(drivername="postgresql+psycopg", database=name)
        return url.render_as_string(hide_password=False)

    async def init(self, id: DatabaseId) -> AsyncEngine:
        """An engine on a fresh database of kind ``id`` (disposed by :meth:`drop_all`)."""
        from sqlalchemy.ext.asyncio import create_async_engine

        if id not in self._ids:
            msg = (
                f"Unsupported test database {id} for this environment, "
                f"possible values are {list(self._ids)}"
            )
            raise ValueError(msg)
        if id == "SQLITE":
            from di_backend.database._manager import memory_sqlite_engine

            engine = memory_sqlite_engine()
        else:
            engine = create_async_engine(self.new_database_url())
        self._engines.append(engine)
        return engine

    def drop_all(self) -> None:
        """Drop every database this object made (``WITH (FORCE)``: open connections end)."""
        prefixes, self._prefixes = self._prefixes, []
        self._engines.clear()  # their connections end with the databases
        if not prefixes:
            return
        import psycopg
        from psycopg import sql

        server = self.server()
        with psycopg.connect(server.url, autocommit=True) as connection:
            rows = connection.execute("SELECT datname FROM pg_database").fetchall()
            for (name,) in rows:
                if any(str(name).startswith(prefix) for prefix in prefixes):
                    connection.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(str(name))
                        )
                    )


class TestCaches:
    """Cache configs for a test: ``"MEMORY"`` and ``"REDIS"`` (a real server)."""

    __test__ = False

    def __init__(self) -> None:
        self.namespace = f"t{uuid.uuid4().hex[:12]}"

    def server(self) -> ServerInfo:
        """The Redis server (skips the test, or fails under ``CI``, without one)."""
        return require_server(find_redis(), "Redis")

    def cache_config(self, id: Literal["MEMORY", "REDIS"]) -> dict[str, JsonValue]:
        """A ``backend.cache`` section; on Redis, keys under a namespace private to this test."""
        if id == "MEMORY":
            return {"store": "memory"}
        return {
            "store": "redis",
            "connection": self.server().url,
            "redis": {"client": {"namespace": self.namespace}},
        }
