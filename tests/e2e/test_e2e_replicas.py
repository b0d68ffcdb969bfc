"""Replicas end to end: three ``di-backend start`` processes sharing one PostgreSQL.

Each runs plugin ``ticker`` (``tests/e2e/replica/replica_backend.py``): a global
one-second task, a manual task that holds its run, and routes that mint and
check service tokens. Discovery sends ``ticker`` to a round-robin TCP proxy on
loopback in front of some replicas, as a load balancer would.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from e2e_support import CLIENT_TIMEOUT, LOOPBACK, BackendProcess, free_ports, running

from di_backend.testing import TestDatabases

REPLICA_DIR = Path(__file__).parent / "replica"


@dataclass
class RoundRobinProxy:
    """A TCP proxy on loopback that hands each connection to the next of ``ports``."""

    ports: Sequence[int]
    port: int = 0
    connections: int = 0
    _server: socket.socket = field(default_factory=socket.socket)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> RoundRobinProxy:
        self._server.bind((LOOPBACK, self.port))
        self._server.listen(64)
        self._server.settimeout(0.2)
        self.port = int(self._server.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopping.set()
        self._server.close()

    def _accept(self) -> None:
        targets = itertools.cycle(self.ports)
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                continue
            self.connections += 1
            upstream = socket.create_connection((LOOPBACK, next(targets)), timeout=10)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with closing(source), closing(sink):
            source.settimeout(30)
            try:
                while chunk := source.recv(65536):
                    sink.sendall(chunk)
            except OSError:
                pass


def _config(
    tmp_path: Path, name: str, port: int, database: dict[str, Any], proxy_port: int
) -> Path:
    config = {
        "backend": {
            "baseUrl": f"http://{LOOPBACK}:{port}",
            "listen": {"host": LOOPBACK, "port": port},
            "features": ["replica_backend:plugin"],
            "database": database,
            "scheduler": {"janitorInterval": "1s"},
        },
        "discovery": {
            "endpoints": [
                {
                    "target": f"http://{LOOPBACK}:{proxy_port}/api/{{{{pluginId}}}}",
                    "plugins": ["ticker"],
                }
            ]
        },
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@dataclass
class Replicas:
    """Three ready replicas, the proxy in front of the last two, and the database."""

    processes: list[BackendProcess]
    proxy: RoundRobinProxy
    databases: TestDatabases
    database_url: str

    def runs(self, task: str) -> list[tuple[str, float]]:
        """``(replica, time)`` of every recorded run of ``task``, in time order."""
        import psycopg

        with psycopg.connect(self.database_url) as connection:
            rows = connection.execute(
                "SELECT replica, at FROM runs WHERE task = %s ORDER BY at", (task,)
            ).fetchall()
        return [(str(replica), float(at)) for replica, at in rows]

    def connections(self) -> int:
        """Connections of plugin ``ticker`` open on the server."""
        import psycopg

        with psycopg.connect(self.databases.server().url) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = 'backstage_plugin_ticker'"
            ).fetchone()
        return int(row[0]) if row else -1


@pytest.fixture(name="replicas")
def _replicas(tmp_path: Path, test_databases: TestDatabases) -> Iterator[Replicas]:
    """Start three replicas at the same moment on an empty server; stop them all after."""
    database = test_databases.database_config("POSTGRES")
    ports = free_ports(3)
    names = ["r1", "r2", "r3"]
    with ExitStack() as stack, RoundRobinProxy(ports[1:]) as proxy:
        processes = [
            stack.enter_context(
                running(
                    name,
                    [_config(tmp_path, name, port, database, proxy.port)],
                    port,
                    tmp_path,
                    {"REPLICA": name, "PYTHONPATH": str(REPLICA_DIR)},
                    cwd=REPLICA_DIR,
                )
            )
            for name, port in zip(names, ports, strict=True)
        ]
        for process in processes:
            process.wait_until_ready()
        server = test_databases.server().connection or {}
        url = (
            f"postgresql://{server.get('user', 'postgres')}@/{database['prefix']}ticker"
            f"?host={server.get('host')}&port={server.get('port', 5432)}"
        )
        yield Replicas(processes, proxy, test_databases, url)


def _wait_for(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds}s")
        time.sleep(0.1)


def test_a_global_one_second_task_runs_exactly_once_per_period(replicas: Replicas) -> None:
    """Over ten seconds every period holds one run, never two, and several replicas ran it."""
    _wait_for(lambda: len(replicas.runs("tick")) >= 1, 10, "a first run")
    time.sleep(10)
    runs = replicas.runs("tick")
    gaps = [b - a for (_, a), (_, b) in itertools.pairwise(runs)]
    # The schedule is anchored, as Backstage's (the next run is due one period after the
    # previous due time, or now if that has passed): a run started late on a loaded
    # machine is followed by the next one sooner, right away if it was more than a
    # period late, so two runs can be milliseconds apart after a stall (a gap of about
    # two periods before them). A double run (two replicas in one period) is two runs
    # milliseconds apart after an ordinary gap.
    assert 8 <= len(runs) <= 12, runs
    for before, gap in itertools.pairwise(gaps):
        assert gap > 0.3 or before > 1.7, gaps  # never twice in one period
    assert gaps[0] > 0.3, gaps  # nor in the first
    assert max(gaps) < 3.0, gaps  # never more than one period late
    assert len({replica for replica, _ in runs}) >= 2, runs


def test_killing_the_replica_that_holds_a_run_lets_another_run_it(replicas: Replicas) -> None:
    """SIGKILL the runner of a task with a 2 s timeout: the janitor frees it, another runs it."""
    first = replicas.processes[0]
    with httpx.Client(timeout=CLIENT_TIMEOUT, trust_env=False) as http:
        token = http.get(f"{first.base_url}/api/ticker/token").json()["token"]
        triggered = http.post(
            f"{first.base_url}/api/ticker/.backstage/scheduler/v1/tasks/hold/trigger",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert triggered.status_code == 200, triggered.text
    _wait_for(lambda: len(replicas.runs("hold")) == 1, 10, "the first run of hold")
    holder_name = replicas.runs("hold")[0][0]
    holder = next(p for p in replicas.processes if p.name == holder_name)
    killed_at = time.time()
    holder.kill()
    _wait_for(lambda: len(replicas.runs("hold")) == 2, 15, "a second run of hold")
    second_name, second_at = replicas.runs("hold")[1]
    assert second_name != holder_name
    # timeout 2 s + janitor interval 1 s + a poll 1 s, with slack for a loaded machine;
    # without failover the hold would last 60 s
    assert second_at - killed_at < 8


def test_a_token_minted_on_one_replica_is_accepted_behind_the_proxy(replicas: Replicas) -> None:
    """Replicas 2 and 3 fetch replica 1's key through the proxy (from the plugin's database)."""
    first, *others = replicas.processes
    with httpx.Client(timeout=CLIENT_TIMEOUT, trust_env=False) as http:
        minted = http.get(f"{first.base_url}/api/ticker/token").json()
        assert minted["replica"] == "r1"
        seen: set[str] = set()
        for _ in range(4):
            proxied = http.get(  # a new connection each time: the proxy alternates
                f"http://{LOOPBACK}:{replicas.proxy.port}/api/ticker/whoami",
                headers={"Authorization": f"Bearer {minted['token']}", "Connection": "close"},
            )
            assert proxied.status_code == 200, proxied.text
            assert proxied.json()["subject"] == "plugin:ticker"
            seen.add(proxied.json()["replica"])
        for other in others:
            direct = other.get("/api/ticker/whoami", token=minted["token"])
            assert direct.status_code == 200, direct.text
    assert seen == {"r2", "r3"}


def test_no_connection_is_left_after_every_replica_stops(replicas: Replicas) -> None:
    """While running the replicas hold connections; after SIGTERM to each, none remain."""
    assert replicas.connections() >= 1
    for process in replicas.processes:
        assert process.stop() == 0, process.output()
    _wait_for(lambda: replicas.connections() == 0, 10, "every connection closing")
