"""Reading ``backend.database`` into one plugin's connection settings (Backstage's keys)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from di_backend.errors import ConfigError, ConfigTypeError
from di_backend.services import ConfigService, JsonValue

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = ["CLIENTS", "PluginDatabaseSettings", "read_plugin_database_settings"]

_KEY = "backend.database"
CLIENTS: dict[str, Literal["pg", "sqlite"]] = {
    "pg": "pg",
    "postgres": "pg",
    "postgresql": "pg",
    "better-sqlite3": "sqlite",
    "sqlite3": "sqlite",
}
"""Accepted ``backend.database.client`` values and the engine family each selects."""
_SCHEMA_PREFIX = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")  # fullmatch: no trailing newline
_PG_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+asyncpg"}


@dataclass(frozen=True, slots=True)
class PluginDatabaseSettings:
    """Everything needed to connect one plugin to its database.

    Attributes:
        plugin_id: whose database.
        family: ``"pg"`` or ``"sqlite"``.
        url: the SQLAlchemy URL of the plugin's own database.
        database: the plugin's database name (PostgreSQL) or file (SQLite, ``:memory:``).
        schema: the plugin's schema in schema mode, else ``None``.
        ensure_exists: create the database (or schema) when missing.
        role: ``SET ROLE`` on every connection (PostgreSQL).
        skip_migrations: ``skipMigrations``.
        pool_size: ``knexConfig.pool.max`` (default 5).
        pool_timeout: ``knexConfig.pool.acquireTimeoutMillis`` in seconds (default 10).
        connect_timeout: seconds to wait for a new connection (default 10).
    """

    plugin_id: str
    family: Literal["pg", "sqlite"]
    url: URL
    database: str
    schema: str | None = None
    ensure_exists: bool = True
    role: str | None = None
    skip_migrations: bool = False
    pool_size: int = 5
    pool_timeout: float = 10.0
    connect_timeout: float = 10.0
    connect_args: dict[str, Any] = field(default_factory=dict[str, Any])

    @property
    def where(self) -> str:
        """Host, port and database, for messages (never the password)."""
        if self.family == "sqlite":
            return f"sqlite {self.database}"
        host = self.url.host or "localhost"
        port = self.url.port or 5432
        return f"{host}:{port}/{self.url.database}"


def _opt(config: ConfigService, key: str) -> JsonValue | None:
    return config.get_optional(key)


def _bool(config: ConfigService, *keys: str) -> bool | None:
    for key in keys:
        value = config.get_optional_boolean(key)
        if value is not None:
            return value
    return None


def _str(config: ConfigService, key: str) -> str | None:
    return config.get_optional_string(key)


def _connection_object(value: JsonValue | None, key: str) -> dict[str, JsonValue]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    msg = f"Invalid config at '{key}', expected a connection URL string or an object, got {value!r}"
    raise ConfigTypeError(msg)


def _pg_connection(value: JsonValue | None, key: str) -> dict[str, JsonValue]:
    """A PostgreSQL connection as an object; URL strings are parsed."""
    if not isinstance(value, str):
        return _connection_object(value, key)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except ArgumentError as error:
        msg = (
            f"Invalid config at '{key}': {value.split('@')[-1]!r} is not a connection URL "
            "(expected postgresql://user:password@host:port/database)"
        )
        raise ConfigError(msg) from error
    if url.drivername not in _PG_DRIVERS:
        msg = (
            f"Invalid config at '{key}': a 'pg' connection URL must start with "
            f"postgresql:// or postgres://, got {url.drivername}://"
        )
        raise ConfigError(msg)
    parsed: dict[str, JsonValue] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password if isinstance(url.password, str) else None,
        "database": url.database,
    }
    for name, option in url.query.items():
        parsed[name] = option if isinstance(option, str) else ",".join(option)
    return {name: item for name, item in parsed.items() if item is not None}


def _pool(config: ConfigService, plugin_key: str) -> tuple[int, float]:
    size = config.get_optional_number(f"{plugin_key}.knexConfig.pool.max")
    if size is None:
        size = config.get_optional_number(f"{_KEY}.knexConfig.pool.max")
    timeout = config.get_optional_number(f"{plugin_key}.knexConfig.pool.acquireTimeoutMillis")
    if timeout is None:
        timeout = config.get_optional_number(f"{_KEY}.knexConfig.pool.acquireTimeoutMillis")
    if size is not None and (size < 1 or int(size) != size):
        msg = f"Invalid config at '{_KEY}.knexConfig.pool.max', expected a positive integer"
        raise ConfigTypeError(msg)
    return int(size or 5), (timeout / 1000.0 if timeout is not None else 10.0)


def read_plugin_database_settings(config: ConfigService, plugin_id: str) -> PluginDatabaseSettings:
    """Read the settings of ``plugin_id``'s database from ``backend.database``.

    Without ``backend.database`` every plugin gets its own in-memory SQLite database.

    Raises:
        ConfigError: an unknown client, a malformed connection, an invalid
            ``schemaPrefix`` or division mode; messages follow Backstage's.
    """
    plugin_key = f"{_KEY}.plugin.{plugin_id}"
    if not config.has(_KEY):
        return _sqlite(config, plugin_id, plugin_key, base={"filename": ":memory:"}, own={})
    base_client = _str(config, f"{_KEY}.client")
    plugin_client = _str(config, f"{plugin_key}.client")
    client = plugin_client or base_client
    if client is None:
        msg = f"Missing required config value at '{_KEY}.client'; expected one of {_allowed()}"
        raise ConfigError(msg)
    family = CLIENTS.get(client)
    if family is None:
        msg = (
            f"Unsupported database client type '{client}' specified for plugin '{plugin_id}' "
            f"(at '{plugin_key if plugin_client else _KEY}.client'); expected one of {_allowed()}"
        )
        raise ConfigError(msg)
    # The base connection is dropped when the plugin names a client of its own (Backstage).
    base_value = None if plugin_client else _opt(config, f"{_KEY}.connection")
    own_value = _opt(config, f"{plugin_key}.connection")
    if family == "sqlite":
        return _sqlite(
            config,
            plugin_id,
            plugin_key,
            base=_sqlite_connection(base_value, f"{_KEY}.connection"),
            own=_sqlite_connection(own_value, f"{plugin_key}.connection"),
        )
    return _postgres(config, plugin_id, plugin_key, base_value, own_value)


def _allowed() -> str:
    return ", ".join(f"'{name}'" for name in ("pg", "better-sqlite3", "sqlite3"))


def _sqlite_connection(value: JsonValue | None, key: str) -> dict[str, JsonValue]:
    if isinstance(value, str):
        return {"filename": value}
    return _connection_object(value, key)


def _sqlite(
    config: ConfigService,
    plugin_id: str,
    plugin_key: str,
    *,
    base: dict[str, JsonValue],
    own: dict[str, JsonValue],
) -> PluginDatabaseSettings:
    from sqlalchemy.engine import URL

    mode = _str(config, f"{_KEY}.pluginDivisionMode") or "database"
    if mode != "database":
        msg = f"The SQLite driver does not support plugin division mode '{mode}'"
        raise ConfigError(msg)
    base_file = base.get("filename")
    if base_file is not None and base_file != ":memory:":
        msg = (
            "`connection.filename` is not supported for the base sqlite connection. Prefer "
            "`connection.directory` or provide a filename for the plugin connection instead."
        )
        raise ConfigError(msg)
    merged = {**base, **own}
    filename = merged.get("filename")
    if filename == ":memory:" or (filename is None and "directory" not in merged):
        database = ":memory:"
    else:
        directory = Path(str(merged.get("directory", ".")))
        database = str(directory / str(filename or f"{plugin_id}.sqlite"))
    return PluginDatabaseSettings(
        plugin_id=plugin_id,
        family="sqlite",
        url=URL.create("sqlite+aiosqlite", database=database),
        database=database,
        skip_migrations=_skip(config, plugin_key),
    )


def _skip(config: ConfigService, plugin_key: str) -> bool:
    return bool(_bool(config, f"{plugin_key}.skipMigrations", f"{_KEY}.skipMigrations"))


def _postgres(
    config: ConfigService,
    plugin_id: str,
    plugin_key: str,
    base_value: JsonValue | None,
    own_value: JsonValue | None,
) -> PluginDatabaseSettings:
    from sqlalchemy.engine import URL

    base = _pg_connection(base_value, f"{_KEY}.connection")
    own = _pg_connection(own_value, f"{plugin_key}.connection")
    mode = _str(config, f"{_KEY}.pluginDivisionMode") or "database"
    if mode not in ("database", "schema"):
        msg = (
            f"Invalid config at '{_KEY}.pluginDivisionMode': '{mode}'; "
            "expected 'database' or 'schema'"
        )
        raise ConfigError(msg)
    prefix = _str(config, f"{_KEY}.prefix") or "backstage_plugin_"
    schema: str | None = None
    if mode == "database":
        base.pop("database", None)
        merged = {**base, **own}
        database = str(merged.get("database") or f"{prefix}{plugin_id}")
    else:
        merged = {**base, **own}
        database = str(merged.get("database") or "postgres")
        schema = _schema_name(config, plugin_id)
    port = merged.get("port")
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if port is not None and not isinstance(port, int):
        msg = f"Invalid config at '{_KEY}.connection.port', expected a port number, got {port!r}"
        raise ConfigTypeError(msg)
    url = URL.create(
        "postgresql+psycopg",
        username=_text(merged.get("user")),
        password=_text(merged.get("password")),
        host=_text(merged.get("host")),
        port=port,
        database=database,
    )
    pool_size, pool_timeout = _pool(config, plugin_key)
    connect_args: dict[str, Any] = {"application_name": f"backstage_plugin_{plugin_id}"}
    for name in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if name in merged:
            connect_args[name] = str(merged[name])
    if schema is not None:
        connect_args["options"] = f"-csearch_path={schema}"
    ensure = _bool(config, f"{plugin_key}.ensureExists", f"{_KEY}.ensureExists")
    role = _str(config, f"{plugin_key}.role") or _str(config, f"{_KEY}.role")
    return PluginDatabaseSettings(
        plugin_id=plugin_id,
        family="pg",
        url=url,
        database=database,
        schema=schema,
        ensure_exists=True if ensure is None else ensure,
        role=role,
        skip_migrations=_skip(config, plugin_key),
        pool_size=pool_size,
        pool_timeout=pool_timeout,
        connect_args=connect_args,
    )


def _text(value: JsonValue | None) -> str | None:
    return None if value is None else str(value)


def _schema_name(config: ConfigService, plugin_id: str) -> str:
    schema_prefix = _str(config, f"{_KEY}.schemaPrefix") or ""
    if schema_prefix and not _SCHEMA_PREFIX.fullmatch(schema_prefix):
        msg = (
            f'Invalid schemaPrefix "{schema_prefix}". Schema prefix must start with a letter '
            "or underscore and contain only letters, numbers, and underscores."
        )
        raise ConfigError(msg)
    schema = f"{schema_prefix}{plugin_id}"
    if len(schema.encode()) > 63:
        msg = (
            f'PostgreSQL schema name "{schema}" exceeds the 63-byte limit. Consider using a '
            f'shorter schemaPrefix (current: "{schema_prefix}") or plugin ID '
            f'(current: "{plugin_id}").'
        )
        raise ConfigError(msg)
    return schema
