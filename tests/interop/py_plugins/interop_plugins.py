"""The di_backend side of the interop tests: two plugins facing the Backstage ones.

``GET /api/pyecho/whoami``
    Who called: ``{"type", "subject"}`` (and ``ownership`` for users, from
    ``core.userInfo``). Service and user credentials only.
``GET /api/pycaller/call/<plugin>``
    Calls ``<plugin>/whoami`` with a plugin token, on behalf of the incoming user,
    or as ``pycaller`` itself when nobody signed in, and answers what it answered.

They mirror ``tests/interop/backstage/index.js`` (``echo`` and ``caller``).
"""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router

from di_backend import PluginRegistrationPoints, core_services, create_backend_plugin, inject
from di_backend.services import (
    AuthService,
    DiscoveryService,
    HttpAuthService,
    HttpRouterService,
    UserInfoService,
)

_TIMEOUT = 5.0


def _register_echo(env: PluginRegistrationPoints) -> None:
    async def init(
        http_router: HttpRouterService = inject(core_services.http_router),
        http_auth: HttpAuthService = inject(core_services.http_auth),
        user_info: UserInfoService = inject(core_services.user_info),
    ) -> None:
        async def whoami(request: Request) -> JSONResponse:
            credentials = await http_auth.credentials(request, allow=["service", "user"])
            principal = credentials.principal
            body: dict[str, object] = {"type": principal.type, "subject": principal.subject}
            if principal.type == "user":
                info = await user_info.get_user_info(credentials)
                body["ownership"] = list(info.ownership_entity_refs)
            return JSONResponse(body)

        http_router.use(Router([Route("/whoami", whoami)]))

    env.register_init(init)


def _register_caller(env: PluginRegistrationPoints) -> None:
    async def init(
        http_router: HttpRouterService = inject(core_services.http_router),
        http_auth: HttpAuthService = inject(core_services.http_auth),
        auth: AuthService = inject(core_services.auth),
        discovery: DiscoveryService = inject(core_services.discovery),
    ) -> None:
        async def call(request: Request) -> Response:
            target = request.path_params["plugin"]
            incoming = await http_auth.credentials(request, allow=["user", "none"])
            on_behalf_of = (
                incoming
                if incoming.principal.type == "user"
                else await auth.get_own_service_credentials()
            )
            token = await auth.get_plugin_request_token(
                on_behalf_of=on_behalf_of, target_plugin_id=target
            )
            url = f"{await discovery.get_base_url(target)}/whoami"
            async with httpx.AsyncClient(timeout=_TIMEOUT, trust_env=False) as client:
                answer = await client.get(url, headers={"Authorization": f"Bearer {token.token}"})
            return Response(
                answer.content,
                status_code=answer.status_code,
                media_type=answer.headers.get("content-type"),
            )

        http_router.use(Router([Route("/call/{plugin}", call)]))
        http_router.add_auth_policy(path="/call", allow="unauthenticated")

    env.register_init(init)


pyecho = create_backend_plugin(plugin_id="pyecho", register=_register_echo)
"""``GET /api/pyecho/whoami``: the caller's principal."""

pycaller = create_backend_plugin(plugin_id="pycaller", register=_register_caller)
"""``GET /api/pycaller/call/<plugin>``: calls another plugin's ``/whoami``."""
