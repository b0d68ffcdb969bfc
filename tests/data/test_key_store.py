"""``backend.auth.pluginKeyStore``: keys in the plugin's database, config messages."""

from __future__ import annotations

import httpx
import pytest
from data_support import backend_with, plugin

from di_backend import core_services, inject
from di_backend.config import ConfigReader
from di_backend.errors import ConfigError
from di_backend.http import auth_factory
from di_backend.http._db_keys import read_key_store_type
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
        (
            "static",
            "backend.auth.pluginKeyStore.type 'static' (keys from PEM files) is not supported yet",
        ),
    ],
)
def test_key_store_types_other_than_database_are_refused(value: str, message: str) -> None:
    """An unknown type gets Backstage's message; ``static`` says it is not supported yet."""
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
