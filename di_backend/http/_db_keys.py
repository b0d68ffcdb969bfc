"""Plugin public keys in the plugin's own database, so every replica verifies every replica.

Each process keeps its private keys in memory; when a plugin first signs
with a key, the public key goes into ``backstage_backend_public_keys__keys``
of that plugin's database. The plugin's JWKS lists its own keys plus every
unexpired row, so a JWKS request answered by any replica has the key.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from di_backend._once import AsyncOnce
from di_backend.services import DatabaseService, RootConfigService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["KEY_STORE_TYPES", "DatabaseKeyPublisher", "read_key_store_type", "uses_process_memory"]

_TABLE = "backstage_backend_public_keys__keys"
_VERSION_TABLE = "backstage_backend_public_keys__alembic_version"
_MIGRATIONS = "di_backend.http:key_migrations"
_KEY = "backend.auth.pluginKeyStore.type"
KEY_STORE_TYPES = ("database", "static")
"""The values ``backend.auth.pluginKeyStore.type`` accepts."""


def read_key_store_type(config: RootConfigService) -> str:
    """``backend.auth.pluginKeyStore.type`` (default ``database``).

    Raises:
        ConfigError: Backstage's ``Unsupported config value ...`` for another value.
    """
    from di_backend.errors import ConfigError

    value = config.get_optional_string(_KEY) or "database"
    if value not in KEY_STORE_TYPES:
        msg = f"Unsupported config value {_KEY} '{value}'; expected one of " + ", ".join(
            f"'{name}'" for name in KEY_STORE_TYPES
        )
        raise ConfigError(msg)
    return value


def uses_process_memory(database: DatabaseService) -> bool:
    """True for the default in-memory SQLite database, which no other process can see."""
    from di_backend.database._manager import PluginDatabase

    return (
        isinstance(database, PluginDatabase)
        and database.settings.family == "sqlite"
        and database.settings.database == ":memory:"
    )


class DatabaseKeyPublisher:
    """Publishes and lists one plugin's public keys in its database."""

    def __init__(self, database: DatabaseService) -> None:
        self._database = database
        self._engine = AsyncOnce(self._open)
        self._published: set[str] = set()

    async def _ready(self) -> AsyncEngine:
        return await self._engine.get()

    async def _open(self) -> AsyncEngine:
        from di_backend.database._migrations import run_migrations

        engine = await self._database.get_client()
        if not self._database.migrations.skip:
            await run_migrations(engine, _MIGRATIONS, version_table=_VERSION_TABLE)
        return engine

    async def publish(self, kid: str, jwk: dict[str, str], expires_at: float) -> None:
        """Store ``jwk`` until ``expires_at`` (once per key), dropping expired rows."""
        if kid in self._published:
            return
        from sqlalchemy import text

        engine = await self._ready()
        async with engine.begin() as connection:
            await connection.execute(
                text(f"DELETE FROM {_TABLE} WHERE expires_at < :now"), {"now": time.time()}
            )
            await connection.execute(
                text(
                    f"INSERT INTO {_TABLE} (id, key, expires_at) VALUES (:id, :key, :expires) "
                    "ON CONFLICT (id) DO NOTHING"
                ),
                {"id": kid, "key": json.dumps(jwk), "expires": expires_at},
            )
        self._published.add(kid)

    async def list(self) -> list[dict[str, str]]:
        """Every unexpired public key of the plugin, from every process."""
        from sqlalchemy import text

        engine = await self._ready()
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(f"SELECT key FROM {_TABLE} WHERE expires_at >= :now"), {"now": time.time()}
            )
            return [json.loads(str(row[0])) for row in rows.all()]
