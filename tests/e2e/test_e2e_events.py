"""Events across processes: four ``di-backend start`` processes on one PostgreSQL.

``hub`` runs only the ``events`` plugin (the hub, on its PostgreSQL database);
``r1`` and ``r2`` are replicas of plugin ``app`` subscribing to topic ``todo``
with the shared id ``shared`` (``r2`` also with ``audit``); ``pub`` runs ``app``
without subscribers and publishes. Every process finds the hub through
``discovery.endpoints``. Plugin ``app`` is ``tests/e2e/events/events_app.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import yaml
from e2e_support import CLIENT_TIMEOUT, LOOPBACK, BackendProcess, free_ports, running

from di_backend.testing import TestDatabases

APP_DIR = Path(__file__).resolve().parent / "events"
WAIT = 30.0  # seconds; bounds every wait for deliveries


def _config(tmp_path: Path, name: str, ports: dict[str, int], database: dict[str, Any]) -> Path:
    port = ports[name]
    features = ["di_backend.events:events_plugin"] if name == "hub" else ["events_app:plugin"]
    endpoints = [_endpoint(ports["hub"], "events")]
    if name == "hub":
        # The hub verifies the callers' tokens with the keys plugin 'app' publishes; its
        # replicas share them through their database, so any one of them serves all.
        endpoints.append(_endpoint(ports["pub"], "app"))
    config = {
        "backend": {
            "baseUrl": f"http://{LOOPBACK}:{port}",
            "listen": {"host": LOOPBACK, "port": port},
            "features": features,
            "database": database,
            "lifecycle": {"serverShutdownTimeout": "2s"},
        },
        "events": {"notifyTimeoutMs": 3000, "hubTimeout": "2s"},
        "discovery": {"endpoints": endpoints},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _endpoint(port: int, plugin: str) -> dict[str, Any]:
    return {"target": f"http://{LOOPBACK}:{port}/api/{{{{pluginId}}}}", "plugins": [plugin]}


@dataclass
class Deployment:
    """The four processes' ports and how to (re)start each."""

    tmp_path: Path
    ports: dict[str, int]
    database: dict[str, Any]
    stack: ExitStack
    processes: dict[str, BackendProcess]

    def start(self, name: str, subscribe: str = "") -> BackendProcess:
        """Start ``name`` (again) and wait until it is ready."""
        config = _config(self.tmp_path, name, self.ports, self.database)
        process = self.stack.enter_context(
            running(
                name,
                [config],
                self.ports[name],
                self.tmp_path,
                {"REPLICA": name, "SUBSCRIBE": subscribe, "PYTHONPATH": str(APP_DIR)},
                cwd=APP_DIR,
            )
        )
        process.wait_until_ready()
        self.processes[name] = process
        return process

    def publish(self, count: int, start: int = 0) -> httpx.Response:
        """Ask ``pub`` to publish ``count`` events numbered from ``start``."""
        with httpx.Client(timeout=CLIENT_TIMEOUT, trust_env=False) as http:
            return http.post(
                f"{self.processes['pub'].base_url}/api/app/publish",
                params={"n": count, "start": start},
            )

    def received(self, name: str, *, probes: bool = False) -> dict[str, list[int]]:
        """What ``name``'s subscribers got: event numbers per subscriber id (probes are < 0)."""
        body = cast(
            "dict[str, list[dict[str, Any]]]", self.processes[name].get("/api/app/received").json()
        )
        return {
            sub: [int(event["n"]) for event in events if probes or int(event["n"]) >= 0]
            for sub, events in body.items()
        }

    def wait_for(self, check: Any, what: str) -> None:
        """Poll ``check()`` until true, for at most :data:`WAIT` seconds."""
        deadline = time.monotonic() + WAIT
        while not check():
            if time.monotonic() > deadline:
                outputs = "\n".join(p.output() for p in self.processes.values())
                raise AssertionError(f"{what} not within {WAIT}s\n{outputs}")
            time.sleep(0.1)


@pytest.fixture(name="deployment")
def _deployment(tmp_path: Path, test_databases: TestDatabases) -> Iterator[Deployment]:
    """Hub, two subscriber replicas and a publisher; every process stopped after the test."""
    database = test_databases.database_config("POSTGRES")
    names = ["hub", "r1", "r2", "pub"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    with ExitStack() as stack:
        deployment = Deployment(tmp_path, ports, database, stack, {})
        deployment.start("hub")
        deployment.start("pub")  # first: the hub verifies everyone's tokens with its JWKS
        deployment.start("r1", "shared")
        deployment.start("r2", "shared,audit")
        # The subscriptions reach the hub in the background: wait until a probe gets through.
        deployment.wait_for(
            lambda: (
                deployment.publish(1, start=-1).status_code == 200
                and -1 in deployment.received("r2", probes=True)["audit"]
            ),
            "the subscriptions",
        )
        yield deployment


def test_each_event_reaches_each_subscriber_id_once(deployment: Deployment) -> None:
    """Forty events from a third process: ``shared`` gets each once over r1+r2, ``audit`` all."""
    assert deployment.publish(40).status_code == 200

    def shared() -> list[int]:
        return [*deployment.received("r1")["shared"], *deployment.received("r2")["shared"]]

    deployment.wait_for(
        lambda: len(shared()) >= 40 and len(deployment.received("r2")["audit"]) >= 40,
        "40 deliveries to each subscriber id",
    )
    time.sleep(1.0)  # a duplicate would show up now
    assert sorted(shared()) == list(range(40))
    assert deployment.received("r2")["audit"] == list(range(40))


def test_a_hub_that_is_down_fails_publish_and_subscribers_reconnect(
    deployment: Deployment,
) -> None:
    """With the hub stopped a publish is a clear 503; once it is back, events flow again."""
    deployment.processes["hub"].stop()
    down = deployment.publish(1, start=100)
    assert down.status_code == 503
    assert "could not publish to topic 'todo' through the events hub" in down.json()["error"]
    deployment.start("hub")
    deployment.wait_for(lambda: deployment.publish(5, start=200).status_code == 200, "a publish")
    deployment.wait_for(
        lambda: set(range(200, 205)) <= set(deployment.received("r2")["audit"]),
        "deliveries after the hub came back",
    )


def test_a_subscriber_that_was_down_catches_up(deployment: Deployment) -> None:
    """Events published while no replica of ``shared`` ran reach it when one starts again."""
    deployment.processes["r1"].stop()
    deployment.processes["r2"].stop()
    assert deployment.publish(5, start=300).status_code == 200
    deployment.start("r1", "shared")
    deployment.wait_for(
        lambda: set(range(300, 305)) <= set(deployment.received("r1")["shared"]),
        "the missed events",
    )
