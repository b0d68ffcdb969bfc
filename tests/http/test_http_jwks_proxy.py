"""The JWKS client ignores proxy settings from the environment (#16)."""

from __future__ import annotations

import httpx
import pytest

from di_backend import PluginRegistrationPoints, core_services, create_backend_plugin, inject
from di_backend.http import JwksCache, auth_factory
from di_backend.services import AuthService, HttpRouterService
from di_backend.testing import free_port, server_url, start_test_backend


def _register(env: PluginRegistrationPoints) -> None:
    async def init(
        auth: AuthService = inject(core_services.auth),
        router: HttpRouterService = inject(core_services.http_router),  # serves the JWKS
    ) -> None:
        assert auth is not None
        assert router is not None

    env.register_init(init)


async def test_public_keys_are_never_fetched_through_an_environment_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With HTTP_PROXY pointing at a closed port the keys are still fetched directly."""
    backend = await start_test_backend(
        features=[create_backend_plugin(plugin_id="keys", register=_register), auth_factory]
    )
    url = f"{server_url(backend)}/api/keys/.backstage/auth/v1/jwks.json"
    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            kid = (await client.get(url)).json()["keys"][0]["kid"]
        proxy = f"http://127.0.0.1:{free_port()}"
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        jwks = JwksCache()
        try:
            assert await jwks.get_key(url, kid) is not None
        finally:
            await jwks.aclose()
    finally:
        await backend.stop()
