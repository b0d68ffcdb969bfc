"""``PluginClient``: one call to another plugin, through discovery, with a service token."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend import PluginRegistrationPoints, core_services, create_backend_plugin, inject
from di_backend.http import PluginClient
from di_backend.services import (
    AuthService,
    DiscoveryService,
    HttpAuthService,
    HttpRouterService,
    LifecycleService,
)
from di_backend.testing import start_test_backend


def _pong(env: PluginRegistrationPoints) -> None:
    async def init(
        router: HttpRouterService = inject(core_services.http_router),
        http_auth: HttpAuthService = inject(core_services.http_auth),
    ) -> None:
        async def whoami(request: Request) -> JSONResponse:
            caller = await http_auth.credentials(request, allow=["service"])
            body = await request.json() if request.method == "POST" else None
            return JSONResponse({"caller": caller.principal.subject, "body": body})

        router.use(Router([Route("/whoami", whoami, methods=["GET", "POST"])]))

    env.register_init(init)


async def test_a_plugin_calls_another_with_its_own_service_token() -> None:
    """GET and POST reach the target through discovery; it sees the calling plugin."""
    answers: list[object] = []

    def _ping(env: PluginRegistrationPoints) -> None:
        async def init(
            discovery: DiscoveryService = inject(core_services.discovery),
            auth: AuthService = inject(core_services.auth),
            lifecycle: LifecycleService = inject(core_services.lifecycle),
        ) -> None:
            client = PluginClient(discovery, auth)

            async def call() -> None:
                answers.append((await client.get("pong", "/whoami")).json())
                answers.append((await client.post("pong", "/whoami", json={"n": 1})).json())

            lifecycle.add_startup_hook(call)  # once pong serves too

        env.register_init(init)

    backend = await start_test_backend(
        features=[
            create_backend_plugin(plugin_id="pong", register=_pong),
            create_backend_plugin(plugin_id="ping", register=_ping),
        ]
    )
    await backend.stop()
    assert answers == [
        {"caller": "plugin:ping", "body": None},
        {"caller": "plugin:ping", "body": {"n": 1}},
    ]


async def test_a_relative_path_is_refused_naming_the_plugin() -> None:
    """A path without a leading slash is a ValueError naming the target plugin."""
    from di_backend.testing import mock_services

    client = PluginClient(mock_services.discovery(), mock_services.auth())
    with pytest.raises(ValueError, match="call to plugin 'todo' must start with '/'"):
        await client.get("todo", "actions")
