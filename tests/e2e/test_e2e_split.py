"""Split backends end to end: the docs example as two ``di-backend start`` processes.

Backend A runs the ``example`` plugin, backend B the ``todo`` plugin and its modules
(``docs/examples/split``, on top of ``docs/examples/app-config.yaml``). A's
``GET /api/example/hello`` calls B's ``GET /api/todo/actions`` through discovery
with a service token. The tests run the committed config files with the ports
replaced by free ones (port 0 cannot work here: A must know B's port before B
starts), on 127.0.0.1 only.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import httpx
import pytest
import yaml
from e2e_support import (
    EXAMPLES,
    LOOPBACK,
    READINESS,
    BackendProcess,
    free_ports,
    running,
)

SINGLE_CONFIG = EXAMPLES / "app-config.yaml"
SPLIT = EXAMPLES / "split"
PORT_A, PORT_B = 7007, 7008  # the ports written in docs/examples/split/*.yaml

EXPECTED_HELLO = {
    "message": "configured in app-config.yaml",
    "todo_actions": ["github.create-issue", "jira.create-ticket"],
}


def split_config(name: str, tmp_path: Path, ports: Mapping[int, int]) -> Path:
    """Copy ``docs/examples/split/<name>`` into ``tmp_path`` with its ports replaced.

    Args:
        name: ``backend-a.yaml`` or ``backend-b.yaml``.
        tmp_path: where the copy is written.
        ports: committed port -> port to use; every one must occur in the file.
    """
    text = (SPLIT / name).read_text(encoding="utf-8")
    for port in ports:
        assert re.search(rf"\b{port}\b", text), f"{name} no longer mentions port {port}"
    replaced = re.sub(
        "|".join(rf"\b{port}\b" for port in ports), lambda m: str(ports[int(m[0])]), text
    )
    path = tmp_path / name
    path.write_text(replaced, encoding="utf-8")
    return path


@dataclass
class Split:
    """Backend A (plugin ``example``) and backend B (plugin ``todo``), both ready."""

    a: BackendProcess
    b: BackendProcess


@pytest.fixture(name="split")
def _split(tmp_path: Path) -> Iterator[Split]:
    """Start B, then A, from the committed split configs with free ports; stop both after."""
    port_a, port_b = free_ports(2)
    ports = {PORT_A: port_a, PORT_B: port_b}
    with ExitStack() as stack:
        b = stack.enter_context(
            running(
                "backend-b",
                [SINGLE_CONFIG, split_config("backend-b.yaml", tmp_path, ports)],
                port_b,
                tmp_path,
            )
        )
        a = stack.enter_context(
            running(
                "backend-a",
                [SINGLE_CONFIG, split_config("backend-a.yaml", tmp_path, ports)],
                port_a,
                tmp_path,
            )
        )
        summary_b, summary_a = b.wait_until_ready(), a.wait_until_ready()
        assert (summary_a["plugins"], summary_a["modules"]) == (["example"], [])
        assert (summary_b["plugins"], summary_b["modules"]) == (
            ["notes", "todo"],
            ["todo.github", "todo.jira"],
        )
        yield Split(a, b)


def _get(value: object, key: str) -> object:
    """``value[key]`` when ``value`` is a mapping (parsed JSON or YAML), else ``None``."""
    return cast("dict[str, object]", value).get(key) if isinstance(value, dict) else None


def _error(response: httpx.Response) -> tuple[str, str]:
    """The ``(error.name, error.message)`` of a Backstage JSON error body."""
    error = _get(response.json(), "error")
    name, message = _get(error, "name"), _get(error, "message")
    assert isinstance(name, str), response.text
    assert isinstance(message, str), response.text
    return name, message


def _features(path: Path) -> list[str]:
    """The ``backend.features`` of a config file."""
    features = _get(_get(yaml.safe_load(path.read_text(encoding="utf-8")), "backend"), "features")
    assert isinstance(features, list), path
    return [str(feature) for feature in cast("list[object]", features)]


def test_split_configs_divide_the_single_backend_features() -> None:
    """The two split configs together list exactly the single backend's features."""
    a, b = _features(SPLIT / "backend-a.yaml"), _features(SPLIT / "backend-b.yaml")
    assert not set(a) & set(b)
    assert sorted(a + b) == sorted(_features(SINGLE_CONFIG))


def test_hello_on_a_gets_todo_actions_from_b(split: Split) -> None:
    """A's hello answers with the todo actions that only B has, fetched through discovery."""
    response = split.a.get("/api/example/hello")
    assert response.status_code == 200, response.text
    assert response.json() == EXPECTED_HELLO
    # A runs no todo plugin: the actions can only have come from B.
    not_here = split.a.get("/api/todo/actions")
    assert not_here.status_code == 404
    assert "nothing is mounted at this path" in _error(not_here)[1]


def test_todo_on_b_refuses_calls_without_a_service_token(split: Split) -> None:
    """B's todo route answers 401 without credentials and with a token it did not issue."""
    missing = split.b.get("/api/todo/actions")
    assert missing.status_code == 401
    assert _error(missing) == ("AuthenticationError", "Missing credentials")
    forged = split.b.get("/api/todo/actions", token="not-a-real-token")
    assert forged.status_code == 401
    assert _error(forged)[0] == "AuthenticationError"


def test_hello_fails_fast_with_503_once_b_is_stopped(split: Split) -> None:
    """After B exits cleanly on SIGTERM, A's hello answers 503 naming todo and its URL."""
    assert split.a.get("/api/example/hello").status_code == 200
    assert split.b.stop() == 0, split.b.output()
    response = split.a.get("/api/example/hello")  # bounded by CLIENT_TIMEOUT: no hang
    assert response.status_code == 503, response.text
    name, message = _error(response)
    assert name == "ServiceUnavailableError"
    todo_url = f"http://{LOOPBACK}:{split.b.port}/api/todo/actions"
    assert message.startswith(f"Plugin 'todo' is unreachable at {todo_url}; caused by "), message
    # A itself is still up and ready.
    assert split.a.get(READINESS).status_code == 200


def test_b_without_an_endpoint_for_example_refuses_a_tokens(tmp_path: Path) -> None:
    """Without discovery for ``example``, B refuses its tokens unfetched: A's 502 says why."""
    port_a, port_b = free_ports(2)
    ports = {PORT_A: port_a, PORT_B: port_b}
    no_endpoints = {"APP_CONFIG_discovery": '{"endpoints": []}'}
    config_b = split_config("backend-b.yaml", tmp_path, ports)
    config_a = split_config("backend-a.yaml", tmp_path, ports)
    with (
        running("backend-b", [SINGLE_CONFIG, config_b], port_b, tmp_path, no_endpoints) as b,
        running("backend-a", [SINGLE_CONFIG, config_a], port_a, tmp_path) as a,
    ):
        b.wait_until_ready()
        a.wait_until_ready()
        response = a.get("/api/example/hello")
    assert response.status_code == 502, response.text
    name, message = _error(response)
    assert name == "BadGatewayError"
    assert message.startswith(
        f"Plugin 'todo' at http://{LOOPBACK}:{port_b}/api/todo/actions answered 401: "
        "Invalid plugin token: plugin 'example' is not installed in this backend and no "
        "discovery.endpoints entry covers it, so its keys are not fetched"
    ), message


def test_hello_answers_503_when_todo_hangs(tmp_path: Path) -> None:
    """A todo backend that accepts connections but never answers gives 503 after the timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind((LOOPBACK, 0))
        silent.listen(8)  # the kernel completes handshakes; nothing ever reads or answers
        silent_port: int = silent.getsockname()[1]
        (port_a,) = free_ports(1)
        config = split_config("backend-a.yaml", tmp_path, {PORT_A: port_a, PORT_B: silent_port})
        env = {"APP_CONFIG_example_todoTimeout": "500ms"}
        with running("backend-a", [SINGLE_CONFIG, config], port_a, tmp_path, env) as a:
            a.wait_until_ready()
            response = a.get("/api/example/hello")  # bounded by CLIENT_TIMEOUT
    assert response.status_code == 503, response.text
    name, message = _error(response)
    assert name == "ServiceUnavailableError"
    todo_url = f"http://{LOOPBACK}:{silent_port}/api/todo/actions"
    assert message.startswith(f"Plugin 'todo' is unreachable at {todo_url}; caused by "), message
    assert "Timeout" in message


def test_single_backend_answers_hello_the_same_way(tmp_path: Path) -> None:
    """The same features in one backend (app-config.yaml alone) give the same hello answer."""
    (port,) = free_ports(1)
    env = {"APP_CONFIG_backend_listen_host": LOOPBACK, "APP_CONFIG_backend_listen_port": str(port)}
    with running("single", [SINGLE_CONFIG], port, tmp_path, env) as single:
        summary = single.wait_until_ready()
        assert summary["plugins"] == ["example", "notes", "todo"]
        response = single.get("/api/example/hello")
        assert response.status_code == 200, response.text
        assert response.json() == EXPECTED_HELLO
        assert single.get("/api/todo/actions").status_code == 401
        assert single.stop() == 0, single.output()
