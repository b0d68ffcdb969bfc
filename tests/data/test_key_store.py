"""``backend.auth.pluginKeyStore``: keys in the plugin's database, config messages."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from data_support import backend_with, plugin

from di_backend import core_services, inject
from di_backend.config import ConfigReader
from di_backend.errors import ConfigError
from di_backend.http import auth_factory
from di_backend.http._db_keys import read_key_store_type
from di_backend.http._static_keys import read_static_key_store
from di_backend.services import AuthService, HttpRouterService
from di_backend.testing import TestDatabases, server_url


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "vault",
            "Unsupported config value backend.auth.pluginKeyStore.type 'vault'; "
            "expected one of 'database', 'static'",
        ),
    ],
)
def test_unknown_key_store_types_are_refused(value: str, message: str) -> None:
    """An unknown type gets Backstage's message, listing the allowed ones."""
    config = ConfigReader({"backend": {"auth": {"pluginKeyStore": {"type": value}}}}, "test")
    with pytest.raises(ConfigError) as caught:
        read_key_store_type(config)
    assert str(caught.value).startswith(message)


async def test_a_plugins_jwks_lists_keys_other_processes_published(
    test_databases: TestDatabases,
) -> None:
    """Two backends on one PostgreSQL: each one's JWKS for the plugin lists both keys."""
    tokens: list[str] = []

    async def init(
        auth: AuthService = inject(core_services.auth),
        router: HttpRouterService = inject(core_services.http_router),  # serves the JWKS
    ) -> None:
        assert router is not None
        issued = await auth.get_plugin_request_token(
            on_behalf_of=await auth.get_own_service_credentials(), target_plugin_id="keys"
        )
        tokens.append(issued.token)

    config = {"backend": {"database": test_databases.database_config("POSTGRES")}}
    factories = [auth_factory]  # the real auth service; the rest stays the test backend's
    first = await backend_with(config, plugin("keys", init), extra=factories)
    second = await backend_with(config, plugin("keys", init), extra=factories)
    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            listed = [
                {
                    key["kid"]
                    for key in (
                        await client.get(f"{server_url(b)}/api/keys/.backstage/auth/v1/jwks.json")
                    ).json()["keys"]
                }
                for b in (first, second)
            ]
    finally:
        await first.stop()
        await second.stop()
    assert listed[0] == listed[1]
    assert len(listed[0]) == 2


def _write_keys(tmp_path: Path, name: str, key: Any = None) -> dict[str, str]:
    private = key or Ed25519PrivateKey.generate()
    private_file, public_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.pub.pem"
    private_file.write_bytes(
        private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    public_file.write_bytes(
        private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return {"privateKeyFile": str(private_file), "publicKeyFile": str(public_file), "keyId": name}


def _static(*keys: dict[str, str]) -> dict[str, Any]:
    return {
        "backend": {"auth": {"pluginKeyStore": {"type": "static", "static": {"keys": list(keys)}}}}
    }


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
async def test_static_keys_sign_with_the_first_and_verify_on_every_backend(
    tmp_path: Path, algorithm: str
) -> None:
    """Two backends reading the same PEM files (P-256 or Ed25519) accept each other's tokens."""
    key: Any = ec.generate_private_key(ec.SECP256R1()) if algorithm == "ES256" else None
    other: Any = ec.generate_private_key(ec.SECP256R1()) if algorithm == "ES256" else None
    first_key = {**_write_keys(tmp_path, "key-1", key), "algorithm": algorithm}
    second_key = {**_write_keys(tmp_path, "key-2", other), "algorithm": algorithm}
    second_key.pop("privateKeyFile")  # only the first key needs its private half
    config = _static(first_key, second_key)
    issued: list[str] = []
    accepted: list[str] = []

    async def init(auth: AuthService = inject(core_services.auth)) -> None:
        if not issued:
            token = await auth.get_plugin_request_token(
                on_behalf_of=await auth.get_own_service_credentials(), target_plugin_id="keys"
            )
            issued.append(token.token)
            assert (await auth.list_public_service_keys())["keys"][1]["kid"] == "key-2"
        else:
            credentials = await auth.authenticate(issued[0])
            accepted.append(str(getattr(credentials.principal, "subject", None)))

    for _ in range(2):
        backend = await backend_with(config, plugin("keys", init), extra=[auth_factory])
        await backend.stop()
    header = json.loads(base64.urlsafe_b64decode(issued[0].split(".")[0] + "=="))
    assert (header["kid"], header["alg"]) == ("key-1", algorithm)
    assert accepted == ["plugin:keys"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no-keys", "Missing required config value at 'backend.auth.pluginKeyStore.static.keys'"),
        ("default-algorithm", "is not a P-256 (ES256) public key, as algorithm 'ES256' needs"),
        (
            "rs256",
            "Unsupported algorithm 'RS256' at "
            "'backend.auth.pluginKeyStore.static.keys[0].algorithm', expected one of 'ES256', "
            "'EdDSA'",
        ),
        (
            "missing-file",
            "Unable to read the key file '/nonexistent/key.pem' "
            "(at 'backend.auth.pluginKeyStore.static.keys[0].publicKeyFile')",
        ),
        ("ec-key", "is not an Ed25519 (EdDSA) public key"),
        ("not-pem", "is not a PEM key"),
    ],
)
def test_bad_static_keys_name_the_key_and_the_file(
    tmp_path: Path, change: str, message: str
) -> None:
    """Each broken static key entry is a ConfigError naming the entry and the file."""
    entry: dict[str, str] = {**_write_keys(tmp_path, "k"), "algorithm": "EdDSA"}
    if change == "default-algorithm":
        entry.pop("algorithm")
    elif change == "rs256":
        entry["algorithm"] = "RS256"
    elif change == "missing-file":
        entry["publicKeyFile"] = "/nonexistent/key.pem"
    elif change == "ec-key":
        entry = {
            **_write_keys(tmp_path, "ec", ec.generate_private_key(ec.SECP256R1())),
            "algorithm": "EdDSA",
        }
    elif change == "not-pem":
        Path(entry["publicKeyFile"]).write_text("hello", encoding="utf-8")
    config = ConfigReader(_static() if change == "no-keys" else _static(entry), "test")
    with pytest.raises(ConfigError) as caught:
        read_static_key_store(config)
    assert message in str(caught.value)
