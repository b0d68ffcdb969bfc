"""A real TypeScript Backstage backend next to a ``di-backend start`` process.

The Backstage side (``tests/interop/backstage``: ``@backstage/backend-defaults``
0.19.0, its auth backend with the guest provider, plugins ``echo`` and
``caller``) is installed with ``npm ci`` from the committed lockfile on first
use. Both backends read their plugin keys from PEM files made for the test
(``pluginKeyStore.type: static``), so the tests can sign their own tokens (an
expired one, say) with a key the other side trusts; Backstage keeps its auth
data in PostgreSQL (the machine's, or one started for the session).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Generator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from e2e_support import LOOPBACK, BackendProcess, free_ports, running

from di_backend.testing import TestDatabases

HERE = Path(__file__).resolve().parent
BACKSTAGE_DIR = HERE / "backstage"
PLUGINS_DIR = HERE / "py_plugins"
NPM_TIMEOUT = 600.0  # seconds; a first install measured 21-32 s
BACKSTAGE_START = 90.0  # seconds; Backstage migrates its auth tables on first start
STATIC_TOKEN_BACKSTAGE = "interop-static-token-backstage"
STATIC_TOKEN_PYTHON = "interop-static-token-python"
GUEST = "user:development/guest"
GUEST_GROUP = "group:default/interop"
BACKSTAGE_PLUGINS = ["echo", "caller", "auth"]
PYTHON_PLUGINS = ["pyecho", "pycaller"]


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``; under ``CI`` fail instead, since CI machines have Node."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def _node_major(node: str) -> int:
    out = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    try:
        return int(out.stdout.strip().lstrip("v").split(".")[0])
    except ValueError:
        return 0


def ensure_backstage_installed() -> str:
    """Return the ``node`` binary after ``npm ci`` has installed the lockfile (once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("Node 20+ and npm are needed for the Backstage interop tests; none on PATH")
    if _node_major(node) < 20:
        unavailable(f"Node 20+ is needed for the Backstage interop tests; {node} is older")
    marker = BACKSTAGE_DIR / "node_modules" / ".package-lock.json"
    lockfile = BACKSTAGE_DIR / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lockfile.stat().st_mtime:
        return node
    try:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=BACKSTAGE_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        unavailable(f"npm ci in {BACKSTAGE_DIR} did not finish within {NPM_TIMEOUT:.0f}s")
    if done.returncode != 0:
        unavailable(f"npm ci in {BACKSTAGE_DIR} failed:\n{done.stdout}\n{done.stderr}")
    return node


@dataclass(frozen=True, slots=True)
class KeyFiles:
    """An ES256 key pair as PEM files, with the key object for signing test tokens."""

    key_id: str
    private_file: Path
    public_file: Path
    key: ec.EllipticCurvePrivateKey

    def config(self) -> dict[str, Any]:
        """The ``backend.auth.pluginKeyStore`` section that signs with this key."""
        return {
            "type": "static",
            "static": {
                "keys": [
                    {
                        "keyId": self.key_id,
                        "publicKeyFile": str(self.public_file),
                        "privateKeyFile": str(self.private_file),
                    }
                ]
            },
        }


def make_keys(directory: Path, key_id: str) -> KeyFiles:
    """Write a new P-256 key pair (PKCS#8 and SPKI PEM) under ``directory``."""
    key = ec.generate_private_key(ec.SECP256R1())
    private_file, public_file = directory / f"{key_id}.pem", directory / f"{key_id}.pub.pem"
    private_file.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public_file.write_bytes(
        key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return KeyFiles(key_id, private_file, public_file, key)


def _endpoint(port: int, plugins: list[str]) -> dict[str, Any]:
    return {"target": f"http://{LOOPBACK}:{port}/api/{{{{pluginId}}}}", "plugins": plugins}


def backstage_config(
    port: int, python_port: int, keys: KeyFiles, database: dict[str, Any]
) -> dict[str, Any]:
    """Backstage's ``app-config``: the Python plugins reached through discovery."""
    return {
        "app": {"baseUrl": f"http://{LOOPBACK}:{port}"},
        "backend": {
            "baseUrl": f"http://{LOOPBACK}:{port}",
            "listen": {"host": LOOPBACK, "port": port},
            "database": database,
            "auth": {
                "pluginKeyStore": keys.config(),
                "externalAccess": [
                    {
                        "type": "static",
                        "options": {"token": STATIC_TOKEN_BACKSTAGE, "subject": "curl-access"},
                    }
                ],
            },
        },
        "auth": {
            "environment": "development",
            "providers": {
                "guest": {
                    "dangerouslyAllowOutsideDevelopment": True,
                    "ownershipEntityRefs": [GUEST, GUEST_GROUP],
                }
            },
        },
        "discovery": {"endpoints": [_endpoint(python_port, PYTHON_PLUGINS)]},
    }


def python_config(port: int, backstage_port: int, keys: KeyFiles) -> dict[str, Any]:
    """di_backend's config: the Backstage plugins (``auth`` too) reached through discovery."""
    return {
        "backend": {
            "baseUrl": f"http://{LOOPBACK}:{port}",
            "listen": {"host": LOOPBACK, "port": port},
            "features": [f"interop_plugins:{name}" for name in PYTHON_PLUGINS],
            "auth": {
                "pluginKeyStore": keys.config(),
                "externalAccess": [
                    {
                        "type": "static",
                        "options": {"token": STATIC_TOKEN_PYTHON, "subject": "curl-access"},
                    }
                ],
            },
        },
        "discovery": {"endpoints": [_endpoint(backstage_port, BACKSTAGE_PLUGINS)]},
    }


@dataclass
class Deployment:
    """Both backends, ready, and the keys each one signs with."""

    backstage: BackendProcess
    python: BackendProcess
    backstage_keys: KeyFiles
    python_keys: KeyFiles

    def guest_token(self) -> str:
        """Sign in with Backstage's guest provider and return the user token it issues."""
        with httpx.Client(timeout=httpx.Timeout(10.0), trust_env=False) as http:
            response = http.get(
                f"{self.backstage.base_url}/api/auth/guest/refresh",
                headers={"X-Requested-With": "XMLHttpRequest"},
            )
        assert response.status_code == 200, f"{response.status_code} {response.text}"
        token = response.json()["backstageIdentity"]["token"]
        assert isinstance(token, str)
        return token


@contextmanager
def deployment(tmp_path: Path) -> Generator[Deployment]:
    """Start Backstage and di_backend side by side; stop both when the block ends."""
    node = ensure_backstage_installed()
    databases = TestDatabases(ids=("POSTGRES",))
    database = databases.database_config("POSTGRES")
    backstage_port, python_port = free_ports(2)
    backstage_keys = make_keys(tmp_path, "backstage-interop-1")
    python_keys = make_keys(tmp_path, "python-interop-1")
    backstage_file = tmp_path / "backstage-config.yaml"
    backstage_file.write_text(
        yaml.safe_dump(backstage_config(backstage_port, python_port, backstage_keys, database)),
        encoding="utf-8",
    )
    python_file = tmp_path / "python-config.yaml"
    python_file.write_text(
        yaml.safe_dump(python_config(python_port, backstage_port, python_keys)), encoding="utf-8"
    )
    with ExitStack() as stack:
        stack.callback(databases.drop_all)
        backstage = stack.enter_context(
            _node_process(node, backstage_file, backstage_port, tmp_path)
        )
        python = stack.enter_context(
            running(
                "di_backend",
                [python_file],
                python_port,
                tmp_path,
                {"PYTHONPATH": str(PLUGINS_DIR)},
                cwd=PLUGINS_DIR,
            )
        )
        backstage.wait_until_ready(timeout=BACKSTAGE_START, summary=False)
        python.wait_until_ready()
        yield Deployment(backstage, python, backstage_keys, python_keys)


@contextmanager
def _node_process(node: str, config: Path, port: int, tmp_path: Path) -> Generator[BackendProcess]:
    log_path, stderr_path = tmp_path / "backstage.log", tmp_path / "backstage.err"
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_CONFIG_")}
    env["NODE_ENV"] = "development"
    with log_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [node, "index.js", "--config", str(config)],
            cwd=BACKSTAGE_DIR,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
    backend = BackendProcess("backstage", port, process, log_path, stderr_path)
    try:
        yield backend
    finally:
        backend.ensure_stopped()
