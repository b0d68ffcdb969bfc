"""FastAPI apps in plugins, over real HTTP on loopback through test backends."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel

from di_backend import (
    Backend,
    BackendPlugin,
    PluginRegistrationPoints,
    ServiceRef,
    core_services,
    create_backend_plugin,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend.fastapi import credentials, service
from di_backend.http import DefaultRootHttpRouter, NotFoundError
from di_backend.services import (
    BackstageCredentials,
    BackstagePrincipal,
    BackstageServicePrincipal,
    HttpRouterService,
    LifecycleService,
    RootHttpRouterService,
)
from di_backend.testing import http_client, mock_credentials, start_test_backend


class Todo(BaseModel):
    """A todo item."""

    title: str
    done: bool = False


class TodoStore:
    """The plugin's store: one per plugin (a plugin-scoped service)."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.items: list[Todo] = []


todo_store: ServiceRef[TodoStore] = create_service_ref(id="test.todoStore")
ghost: ServiceRef[object] = create_service_ref(id="nobody.provides")  # no factory anywhere
store_factory = create_service_factory(todo_store, lambda: TodoStore("todo"))
SERVICE = {"Authorization": mock_credentials.service.header("plugin:caller")}
USER = {"Authorization": mock_credentials.user.header("user:default/jane")}


def _todo_app() -> FastAPI:
    app = FastAPI(title="todo")

    @app.get("/todos/{index}")
    async def get_todo(
        index: int,
        store: Annotated[TodoStore, Depends(service(todo_store))],
        verbose: bool = False,
    ) -> dict[str, object]:
        if index >= len(store.items):
            raise NotFoundError(f"No todo {index}")
        item = store.items[index]
        return {"todo": item.model_dump(), "owner": store.owner} if verbose else item.model_dump()

    @app.post("/todos", status_code=201)
    async def add_todo(
        todo: Todo,
        caller: Annotated[
            BackstageCredentials[BackstageServicePrincipal],
            Depends(credentials(allow=["service"])),
        ],
        store: Annotated[TodoStore, Depends(service(todo_store))],
    ) -> dict[str, object]:
        store.items.append(todo)
        return {"index": len(store.items) - 1, "by": caller.principal.subject}

    @app.get("/anyone")
    async def anyone(
        caller: Annotated[BackstageCredentials[BackstagePrincipal], Depends(credentials())],
    ) -> dict[str, str]:
        return {"type": caller.principal.type}

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaput")

    return app


def _plugin(app: FastAPI | APIRouter, *, slow_start: asyncio.Event | None = None) -> BackendPlugin:
    def register(env: PluginRegistrationPoints) -> None:
        async def init(
            http_router: HttpRouterService = inject(core_services.http_router),
            lifecycle: LifecycleService = inject(core_services.lifecycle),
        ) -> None:
            http_router.use(app)
            http_router.add_auth_policy(path="/public", allow="unauthenticated")
            if slow_start is not None:
                await slow_start.wait()

        env.register_init(init)

    return create_backend_plugin(plugin_id="todo", register=register)


async def test_typed_parameters_credentials_and_services() -> None:
    """Path, query and body parameters are typed; credentials and the plugin's store inject."""
    backend = await start_test_backend(features=[_plugin(_todo_app()), store_factory])
    try:
        async with http_client(backend) as client:
            created = await client.post("/api/todo/todos", json={"title": "write"}, headers=SERVICE)
            fetched = await client.get(
                "/api/todo/todos/0", params={"verbose": "true"}, headers=SERVICE
            )
            missing = await client.get("/api/todo/todos/7", headers=SERVICE)
            bad_path = await client.get("/api/todo/todos/first", headers=SERVICE)
            bad_body = await client.post("/api/todo/todos", json={"done": 1}, headers=SERVICE)
    finally:
        await backend.stop()
    assert (created.status_code, created.json()) == (201, {"index": 0, "by": "plugin:caller"})
    assert fetched.json() == {"todo": {"title": "write", "done": False}, "owner": "todo"}
    assert missing.status_code == 404
    assert missing.json()["error"] == {"name": "NotFoundError", "message": "No todo 7"}
    assert bad_path.status_code == 422
    assert bad_path.json()["detail"][0]["loc"] == ["path", "index"]
    assert bad_body.status_code == 422
    assert [e["loc"] for e in bad_body.json()["detail"]] == [["body", "title"]]


async def test_a_service_nothing_provides_names_the_plugin_and_the_ref() -> None:
    """``service(ref)`` for a ref without a factory is a 500 naming the plugin and the ref."""
    app = FastAPI()

    @app.get("/ghost")
    async def haunted(value: Annotated[object, Depends(service(ghost))]) -> str:
        return "unreachable"

    backend = await start_test_backend(features=[_plugin(app)])
    try:
        async with http_client(backend) as client:
            failed = await client.get("/api/todo/ghost", headers=SERVICE)
    finally:
        await backend.stop()
    assert failed.status_code == 500
    assert failed.json()["error"]["message"] == (
        "Plugin 'todo' asked for service 'nobody.provides' in a route "
        "(di_backend.fastapi.service), and it cannot be had: MissingDependencyError: "
        "No service factory is installed for serviceRef{nobody.provides}"
    )


async def test_a_service_only_dependency_refuses_a_user_with_403() -> None:
    """``credentials(allow=["service"])`` answers a user with 403 in Backstage's JSON shape."""
    backend = await start_test_backend(features=[_plugin(_todo_app()), store_factory])
    try:
        async with http_client(backend) as client:
            refused = await client.post("/api/todo/todos", json={"title": "x"}, headers=USER)
            anyone = await client.get("/api/todo/anyone", headers=USER)
    finally:
        await backend.stop()
    assert refused.status_code == 403
    assert refused.json()["error"]["name"] == "NotAllowedError"
    assert refused.json()["response"] == {"statusCode": 403}
    assert anyone.json() == {"type": "user"}


async def test_the_barrier_and_auth_policies_apply_to_fastapi_routes() -> None:
    """Without credentials a route is a 401 from the barrier; an auth policy opens another."""
    nobody = {"Authorization": mock_credentials.none.header()}
    backend = await start_test_backend(features=[_plugin(_todo_app()), store_factory])
    try:
        async with http_client(backend) as client:
            closed = await client.get("/api/todo/todos/0", headers=nobody)
            opened = await client.get("/api/todo/public", headers=nobody)
    finally:
        await backend.stop()
    assert closed.status_code == 401
    assert closed.json()["error"]["message"] == "Missing credentials"
    assert (opened.status_code, opened.json()) == (200, {"hello": "world"})


async def test_an_unexpected_error_is_a_json_500() -> None:
    """A handler's unexpected exception is a 500 with Backstage's JSON body, not a traceback."""
    backend = await start_test_backend(features=[_plugin(_todo_app()), store_factory])
    try:
        async with http_client(backend) as client:
            failed = await client.get("/api/todo/boom", headers=SERVICE)
    finally:
        await backend.stop()
    assert failed.status_code == 500
    assert failed.json()["error"] == {"name": "RuntimeError", "message": "kaput"}


async def test_the_openapi_document_is_public_and_says_where_and_what() -> None:
    """``/api/todo/openapi.json`` is open, names ``/api/todo`` and lists the error answers."""
    nobody = {"Authorization": mock_credentials.none.header()}
    backend = await start_test_backend(features=[_plugin(_todo_app()), store_factory])
    try:
        async with http_client(backend) as client:
            document = await client.get("/api/todo/openapi.json", headers=nobody)
            docs = await client.get("/api/todo/docs", headers=nobody)
    finally:
        await backend.stop()
    assert document.status_code == 200
    schema = document.json()
    assert schema["servers"] == [{"url": "/api/todo"}]
    post = schema["paths"]["/todos"]["post"]
    assert set(post["responses"]) >= {"201", "401", "403", "422", "500", "503"}
    error_schema = post["responses"]["403"]["content"]["application/json"]["schema"]
    assert error_schema == {"$ref": "#/components/schemas/ErrorResponse"}
    assert "ErrorResponse" in schema["components"]["schemas"]
    assert schema["components"]["schemas"]["Todo"]["required"] == ["title"]
    assert docs.status_code == 200
    assert "/api/todo/openapi.json" in docs.text


async def test_an_api_router_is_served_with_its_own_openapi() -> None:
    """An ``APIRouter`` is wrapped in a FastAPI app titled with the plugin id."""
    router = APIRouter()

    @router.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    backend = await start_test_backend(features=[_plugin(router)])
    try:
        async with http_client(backend) as client:
            pong = await client.get("/api/todo/ping", headers=SERVICE)
            document = await client.get("/api/todo/openapi.json")
    finally:
        await backend.stop()
    assert pong.json() == {"pong": "yes"}
    assert document.json()["info"]["title"] == "todo"
    assert "/ping" in document.json()["paths"]


def _address_probe(found: asyncio.Future[str]) -> BackendPlugin:
    """A plugin that hands out the test server's URL as soon as it initialises."""

    def register(env: PluginRegistrationPoints) -> None:
        async def init(
            root: RootHttpRouterService = inject(core_services.root_http_router),
        ) -> None:
            assert isinstance(root, DefaultRootHttpRouter)
            host, port = root.listen_address()
            found.set_result(f"http://{host}:{port}")

        env.register_init(init)

    return create_backend_plugin(plugin_id="probe", register=register)


async def test_requests_wait_for_the_plugin_to_start() -> None:
    """A request during the plugin's start waits (the lifecycle gate), then succeeds."""
    release = asyncio.Event()
    url: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def start() -> Backend:
        return await start_test_backend(
            features=[_plugin(_todo_app(), slow_start=release), _address_probe(url), store_factory]
        )

    starting = asyncio.create_task(start())
    async with asyncio.timeout(10):
        base_url = await url
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0, trust_env=False) as client:
        pending = asyncio.create_task(client.get("/api/todo/public"))
        await asyncio.sleep(0.3)
        waited = not pending.done()
        release.set()
        response = await pending
    backend = await starting
    await backend.stop()
    assert waited, "the request must wait for the plugin's start"
    assert response.status_code == 200


async def test_requests_in_flight_finish_when_the_backend_stops() -> None:
    """A slow FastAPI request that began before stop is answered; stop waits for it (drain)."""
    app = FastAPI()
    entered = asyncio.Event()

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        entered.set()
        await asyncio.sleep(0.5)
        return {"done": "yes"}

    backend = await start_test_backend(features=[_plugin(app)])
    async with http_client(backend) as client:
        pending = asyncio.create_task(client.get("/api/todo/slow", headers=SERVICE))
        async with asyncio.timeout(5):
            await entered.wait()
        await backend.stop()
        response = await pending
    assert (response.status_code, response.json()) == (200, {"done": "yes"})


def test_a_backend_without_fastapi_never_imports_it() -> None:
    """Importing di_backend and starting a test backend with no FastAPI plugin loads no FastAPI."""
    code = (
        "import asyncio, sys\n"
        "from di_backend.testing import start_test_backend\n"
        "async def main():\n"
        "    backend = await start_test_backend(features=[])\n"
        "    await backend.stop()\n"
        "asyncio.run(main())\n"
        "print('fastapi' in sys.modules, 'pydantic' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False False"
