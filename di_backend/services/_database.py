"""``DatabaseService``: a plugin's own database (``core.database``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["DatabaseMigrations", "DatabaseService"]


class DatabaseMigrations(Protocol):
    """Whether the plugin should run its migrations (``skipMigrations`` in config)."""

    @property
    def skip(self) -> bool:
        """True when ``backend.database[.plugin.<id>].skipMigrations`` is set."""
        ...


class DatabaseService(Protocol):
    """A plugin's own database (``core.database``), private to that plugin.

    ``get_client()`` returns an SQLAlchemy ``AsyncEngine``, created on the
    first call and the same one on every later call; the backend disposes it
    at stop. On PostgreSQL every plugin has its own database (or schema), on
    SQLite its own in-memory database or file.
    """

    async def get_client(self) -> AsyncEngine:
        """Return the plugin's engine (created, and its database made to exist, on first use)."""
        ...

    @property
    def migrations(self) -> DatabaseMigrations:
        """Whether migrations are to be skipped for this plugin."""
        ...
