"""The database service: a SQLAlchemy ``AsyncEngine`` per plugin, and Alembic migrations.

* ``core_services.database`` gives each plugin its own database: in-memory
  SQLite by default, PostgreSQL (a database or a schema per plugin) or SQLite
  files from ``backend.database``.
* :func:`run_migrations` runs a plugin's Alembic history, safe for replicas
  that start at the same moment.

See ``docs/data-services.md``.
"""

from di_backend.database._factories import database_factory
from di_backend.database._manager import DatabaseConnectionError, DatabaseManager, PluginDatabase
from di_backend.database._migrations import run_migrations
from di_backend.database._settings import PluginDatabaseSettings, read_plugin_database_settings

__all__ = [
    "DatabaseConnectionError",
    "DatabaseManager",
    "PluginDatabase",
    "PluginDatabaseSettings",
    "database_factory",
    "read_plugin_database_settings",
    "run_migrations",
]
