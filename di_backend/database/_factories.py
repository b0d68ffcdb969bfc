"""The default ``core.database`` factory."""

from __future__ import annotations

from di_backend._core_services import core_services
from di_backend._managed import managed_service_factory
from di_backend.database._manager import DatabaseManager

__all__ = ["database_factory"]

database_factory = managed_service_factory(
    core_services.database, DatabaseManager, service="database"
)
"""Each plugin's own database from ``backend.database`` (in-memory SQLite without it)."""
