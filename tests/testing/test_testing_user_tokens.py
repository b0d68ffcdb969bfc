"""``UserTokenIssuer``: user tokens that the real auth service of a test backend accepts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend import (
    BackendPlugin,
    PluginRegistrationPoints,
    core_services,
    create_backend_plugin,
    inject,
)
from di_backend.http import auth_factory, http_auth_factory, user_info_factory
from di_backend.services import HttpAuthService, HttpRouterService, UserInfoService
from di_backend.testing import UserTokenIssuer, http_client, start_test_backend


def _whoami_plugin() -> BackendPlugin:
    def register(env: PluginRegistrationPoints) -> None:
        async def init(
            http_router: HttpRouterService = inject(core_services.http_router),
            http_auth: HttpAuthService = inject(core_services.http_auth),
            user_info: UserInfoService = inject(core_services.user_info),
        ) -> None:
            async def whoami(request: Request) -> JSONResponse:
                credentials = await http_auth.credentials(request, allow=["user"])
                info = await user_info.get_user_info(credentials)
                return JSONResponse(
                    {"user": info.user_entity_ref, "owns": list(info.ownership_entity_refs)}
                )

            http_router.use(Router([Route("/whoami", whoami)]))

        env.register_init(init)

    return create_backend_plugin(plugin_id="whoami", register=register)


async def test_the_real_auth_service_accepts_issued_user_tokens() -> None:
    """With the real auth factories, a route sees the user of an issued token and its ``ent``."""
    issuer = UserTokenIssuer()
    backend = await start_test_backend(
        features=[
            _whoami_plugin(),
            issuer.plugin(),
            auth_factory,
            http_auth_factory,
            user_info_factory,
        ]
    )
    try:
        async with http_client(backend) as client:
            token = issuer.issue("user:default/jane", ["user:default/jane", "group:default/a"])
            response = await client.get(
                "/api/whoami/whoami", headers={"Authorization": f"Bearer {token}"}
            )
            forged = UserTokenIssuer().issue("user:default/admin")
            refused = await client.get(
                "/api/whoami/whoami", headers={"Authorization": f"Bearer {forged}"}
            )
    finally:
        await backend.stop()
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user": "user:default/jane",
        "owns": ["user:default/jane", "group:default/a"],
    }
    assert refused.status_code == 401


async def test_a_token_without_ent_is_answered_by_userinfo() -> None:
    """A token issued with ``omit_ent=True`` gets its ownership from the issuer's userinfo."""
    issuer = UserTokenIssuer()
    backend = await start_test_backend(
        features=[
            _whoami_plugin(),
            issuer.plugin(ownership=["group:default/b"]),
            auth_factory,
            http_auth_factory,
            user_info_factory,
        ]
    )
    try:
        async with http_client(backend) as client:
            token = issuer.issue("user:default/jane", omit_ent=True)
            response = await client.get(
                "/api/whoami/whoami", headers={"Authorization": f"Bearer {token}"}
            )
    finally:
        await backend.stop()
    assert response.json() == {"user": "user:default/jane", "owns": ["group:default/b"]}
    assert issuer.userinfo_calls == 1
