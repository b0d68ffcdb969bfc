"""Tests for the HTTP entries of ``mock_services``: fakes, factories and recording mocks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from unittest.mock import AsyncMock

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router

from di_backend import core_services
from di_backend.http import (
    AuthenticationError,
    DefaultHttpRouter,
    DefaultRootHealthService,
    DefaultRootHttpRouter,
    NotAllowedError,
)
from di_backend.services import (
    AuthService,
    BackstageUserPrincipal,
    HealthCheckResult,
    PrincipalType,
)
from di_backend.testing import (
    MockAuth,
    MockDiscovery,
    MockHttpAuth,
    MockRootLifecycle,
    ServiceFactoryTester,
    mock_credentials,
    mock_services,
)

HTTP_ENTRIES = ["root_http_router", "root_health", "http_router", "discovery", "auth", "http_auth"]


def _request(*, authorization: str | None = None, cookie: str | None = None) -> Request:
    headers: list[tuple[bytes, bytes]] = []
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


def _in_memory(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


class TestAuth:
    @pytest.mark.parametrize(
        ("token", "message"),
        [
            ("mock-invalid-user-token", "User token is invalid"),
            ("mock-invalid-limited-user-token", "Limited user token is invalid"),
            ("mock-invalid-service-token", "Service token is invalid"),
            ("", "Token is empty"),
            ("nonsense", "Unknown mock token 'nonsense'"),
            (
                'mock-limited-user-token:{"sub":"user:default/a"}',
                "Limited user token is not allowed",
            ),
            (
                'mock-service-token:{"target":"other"}',
                "Invalid mock token target plugin ID, got 'other' but expected 'todo'",
            ),
            ("mock-user-token:[]", "Invalid mock token 'mock-user-token:[]', expected a JSON"),
        ],
    )
    async def test_rejected_tokens_name_the_reason(self, token: str, message: str) -> None:
        """Invalid, unknown, mistargeted and limited tokens raise 401 with Backstage's messages."""
        auth = mock_services.auth(plugin_id="todo")
        with pytest.raises(AuthenticationError, match=re.escape(message)) as caught:
            await auth.authenticate(token)
        assert caught.value.status_code == 401

    async def test_issued_tokens_reach_only_their_target(self) -> None:
        """A token plugin ``a`` issues for ``b`` authenticates at ``b`` as ``plugin:a`` only."""
        a, b = mock_services.auth(plugin_id="a"), mock_services.auth(plugin_id="b")
        issued = await a.get_plugin_request_token(
            on_behalf_of=await a.get_own_service_credentials(), target_plugin_id="b"
        )
        assert (await b.authenticate(issued.token)).principal.subject == "plugin:a"
        with pytest.raises(AuthenticationError, match="got 'b' but expected 'a'"):
            await a.authenticate(issued.token)

    async def test_user_requests_are_forwarded_on_behalf_of_the_user(self) -> None:
        """A token issued for a user's request authenticates as that user at the target."""
        a, b = mock_services.auth(plugin_id="a"), mock_services.auth(plugin_id="b")
        jane = mock_credentials.user("user:default/jane")
        issued = await a.get_plugin_request_token(on_behalf_of=jane, target_plugin_id="b")
        assert (await b.authenticate(issued.token)).principal == jane.principal

    async def test_nobody_gets_no_token_unless_the_policy_is_disabled(self) -> None:
        """For ``none`` credentials issuing fails, or yields ``""`` with the policy disabled."""
        nobody = mock_credentials.none()
        message = "Refused to issue service token for credential type 'none'"
        with pytest.raises(AuthenticationError, match=re.escape(message)):
            await mock_services.auth().get_plugin_request_token(
                on_behalf_of=nobody, target_plugin_id="b"
            )
        relaxed = mock_services.auth(disable_default_auth_policy=True)
        token = await relaxed.get_plugin_request_token(on_behalf_of=nobody, target_plugin_id="b")
        assert token.token == ""

    async def test_limited_user_tokens_are_for_users_only(self) -> None:
        """A limited token is issued for a user and refused for a service."""
        auth = mock_services.auth()
        limited = await auth.get_limited_user_token(mock_credentials.user())
        assert limited.token == mock_credentials.limited_user.token()
        message = "Refused to issue limited user token for credential type 'service'"
        with pytest.raises(AuthenticationError, match=re.escape(message)):
            await auth.get_limited_user_token(mock_credentials.service())

    async def test_own_credentials_principals_and_keys(self) -> None:
        """Own credentials name the plugin; principals are compared by type; no keys."""
        auth = mock_services.auth(plugin_id="todo")
        own = await auth.get_own_service_credentials()
        assert own.principal.subject == "plugin:todo"
        assert auth.is_principal(own, "service")
        assert not auth.is_principal(await auth.get_none_credentials(), "user")
        assert await auth.list_public_service_keys() == {"keys": []}

    async def test_factory_makes_one_per_plugin_and_reads_the_policy_switch(self) -> None:
        """``auth.factory()`` gives each plugin its own ``MockAuth``; config disables the policy."""
        config = mock_services.root_config.factory(
            data={"backend": {"auth": {"dangerouslyDisableDefaultAuthPolicy": True}}}
        )
        tester = ServiceFactoryTester.create(mock_services.auth.factory(), dependencies=[config])
        todo = await tester.get_subject("todo")
        assert isinstance(todo, MockAuth)
        assert (todo.plugin_id, todo.disable_default_auth_policy) == ("todo", True)
        other = await ServiceFactoryTester.create(mock_services.auth.factory()).get_subject("x")
        assert isinstance(other, MockAuth)
        assert (other.plugin_id, other.disable_default_auth_policy) == ("x", False)


class TestHttpAuth:
    async def test_without_credentials_a_request_is_the_mock_user(self) -> None:
        """As in Backstage, a request without a token counts as ``user:default/mock``."""
        credentials = await mock_services.http_auth().credentials(_request())
        assert credentials.principal == BackstageUserPrincipal("user:default/mock")

    async def test_bearer_tokens_are_read_case_insensitively(self) -> None:
        """The token comes from ``Authorization: Bearer`` (any case of ``Bearer``)."""
        http_auth = mock_services.http_auth()
        header = mock_credentials.service.header("plugin:other").replace("Bearer", "bearer")
        credentials = await http_auth.credentials(_request(authorization=header))
        assert credentials.principal.subject == "plugin:other"

    @pytest.mark.parametrize(
        ("authorization", "allow", "error", "message"),
        [
            (mock_credentials.none.header(), ["user", "service"], AuthenticationError, "Missing"),
            (None, ["service"], NotAllowedError, "does not allow 'user' credentials"),
            (mock_credentials.service.header(), ["user"], NotAllowedError, "allow 'service'"),
            (mock_credentials.user.invalid_header(), None, AuthenticationError, "is invalid"),
        ],
    )
    async def test_allow_filters_principals(
        self,
        authorization: str | None,
        allow: Sequence[PrincipalType] | None,
        error: type[Exception],
        message: str,
    ) -> None:
        """Disallowed principals get 401 (nobody) or 403 (a user or service), bad tokens 401."""
        http_auth = mock_services.http_auth()
        with pytest.raises(error, match=message):
            await http_auth.credentials(_request(authorization=authorization), allow=allow)

    async def test_cookie_counts_only_where_limited_access_is_allowed(self) -> None:
        """The ``backstage-auth`` cookie is read only with ``allow_limited_access``."""
        http_auth = mock_services.http_auth(default_credentials=mock_credentials.none())
        request = _request(cookie=mock_credentials.limited_user.cookie("user:default/jane"))
        limited = await http_auth.credentials(request, allow_limited_access=True)
        assert limited.principal == BackstageUserPrincipal("user:default/jane")
        assert (await http_auth.credentials(request)).principal.type == "none"

    async def test_factory_uses_the_given_default_credentials(self) -> None:
        """``http_auth.factory(default_credentials=none())`` makes bare requests anonymous."""
        factory = mock_services.http_auth.factory(default_credentials=mock_credentials.none())
        http_auth = await ServiceFactoryTester.create(factory).get_subject("todo")
        assert isinstance(http_auth, MockHttpAuth)
        assert http_auth.plugin_id == "todo"
        with pytest.raises(AuthenticationError, match="Missing credentials"):
            await http_auth.credentials(_request(), allow=["user", "service"])


class TestDiscovery:
    async def test_fake_points_nowhere_by_default(self) -> None:
        """The fake puts plugins under ``http://localhost:0``, or under the given base URL."""
        assert await mock_services.discovery().get_base_url("todo") == "http://localhost:0/api/todo"
        elsewhere = mock_services.discovery(base_url="http://example.test/")
        assert await elsewhere.get_external_base_url("todo") == "http://example.test/api/todo"

    async def test_factory_without_a_server_points_nowhere(self) -> None:
        """``discovery.factory()`` outside a test backend has no server to point at."""
        tester = ServiceFactoryTester.create(mock_services.discovery.factory())
        discovery = await tester.get_subject("todo")
        assert isinstance(discovery, MockDiscovery)
        assert discovery.base_url == "http://localhost:0"

    async def test_factory_with_a_base_url(self) -> None:
        """``discovery.factory(base_url=...)`` points every plugin there."""
        factory = mock_services.discovery.factory(base_url="http://other.test")
        discovery = await ServiceFactoryTester.create(factory).get_subject("todo")
        assert await discovery.get_base_url("a") == "http://other.test/api/a"


class TestRouters:
    async def test_root_router_fake_serves_mounted_apps_in_memory(self) -> None:
        """The root router fake is an ASGI app with health endpoints when given a health."""
        health = mock_services.root_health()
        health.mark_started()
        router = mock_services.root_http_router(health=health)
        router.use("/hello", Router([Route("/", _hello)]))
        async with _in_memory(router) as client:
            assert (await client.get("/hello/")).text == "hello"
            assert (await client.get("/.backstage/health/v1/readiness")).status_code == 200
        bare = mock_services.root_http_router()
        async with _in_memory(bare) as client:
            assert (await client.get("/.backstage/health/v1/readiness")).status_code == 404

    async def test_plugin_router_fake_is_guarded_by_the_mock_auth(self) -> None:
        """The plugin router fake serves its routes to the mock user and refuses nobody."""
        router = mock_services.http_router(plugin_id="todo")
        assert isinstance(router, DefaultHttpRouter)
        router.use(Router([Route("/hello", _hello)]))
        async with _in_memory(router) as client:
            assert (await client.get("/hello")).text == "hello"
            refused = await client.get(
                "/hello", headers={"Authorization": mock_credentials.none.header()}
            )
            assert refused.status_code == 401

    async def test_factories_mount_plugins_on_an_unserved_root_router(self) -> None:
        """In a tester, ``http_router.factory()`` mounts on the root router, which has no server."""
        tester = ServiceFactoryTester.create(mock_services.http_router.factory())
        await tester.get_subject("todo")
        root = await tester.get_service(core_services.root_http_router)
        assert isinstance(root, DefaultRootHttpRouter)
        assert root.paths == ("/api/todo",)
        assert root.server is None

    async def test_health_factory_follows_the_root_lifecycle(self) -> None:
        """``root_health.factory()`` turns ready on root startup and not ready on shutdown."""
        tester = ServiceFactoryTester.create(mock_services.root_health.factory())
        health = await tester.get_subject()
        assert isinstance(health, DefaultRootHealthService)
        lifecycle = await tester.get_service(core_services.root_lifecycle)
        assert isinstance(lifecycle, MockRootLifecycle)
        assert (await health.get_readiness()).status == 503
        await lifecycle.startup()
        assert (await health.get_readiness()) == HealthCheckResult(200, {"status": "ok"})
        await lifecycle.before_shutdown()
        assert (await health.get_readiness()).status == 503


class TestRecordingMocks:
    @pytest.mark.parametrize("name", HTTP_ENTRIES)
    def test_mock_rejects_names_outside_the_interface(self, name: str) -> None:
        """Each HTTP mock accepts only its interface's methods."""
        entry = getattr(mock_services, name)
        with pytest.raises(TypeError, match="a mock can only implement the interface's methods"):
            entry.mock(not_a_method=print)

    async def test_async_methods_run_the_given_implementation(self) -> None:
        """An async method given to ``mock()`` is an ``AsyncMock`` that records its awaits."""

        def readiness() -> HealthCheckResult:
            return HealthCheckResult(200)

        health = mock_services.root_health.mock(get_readiness=readiness)
        assert isinstance(health.get_readiness, AsyncMock)
        assert await health.get_readiness() == HealthCheckResult(200)
        health.get_readiness.assert_awaited_once()

    async def test_auth_mock_is_installed_by_its_factory(self) -> None:
        """``auth.mock(...).factory`` gives every plugin that very mock."""

        async def authenticate(token: str, *, allow_limited_access: bool = False) -> object:
            return mock_credentials.service(token)

        auth = mock_services.auth.mock(authenticate=authenticate)
        installed: AuthService = await ServiceFactoryTester.create(auth.factory).get_subject("a")
        assert installed is auth
        assert (await installed.authenticate("plugin:x")).principal.subject == "plugin:x"
        auth.authenticate.assert_awaited_once_with("plugin:x")
