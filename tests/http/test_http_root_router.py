"""The root router: path rules, dispatch, 404s and JSON error responses."""

from __future__ import annotations

import re

import pytest
from http_support import (
    BackendMaker,
    client,
    fetch,
    make_backend_fixture,  # noqa: F401  # pyright: ignore[reportUnusedImport]
)
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from di_backend.errors import ConflictError
from di_backend.http import (
    DefaultRootHttpRouter,
    InputError,
    NotAllowedError,
    NotFoundError,
    RouterError,
    ServiceUnavailableError,
)


async def _noop(scope: Scope, receive: Receive, send: Send) -> None:
    """An ASGI app that is never called."""


class TestUsePathRules:
    @pytest.mark.parametrize("path", ["", "/", "  ", "//"])
    def test_empty_paths_are_refused(self, path: str) -> None:
        """An empty (or only-slash) root path is refused with Backstage's message."""
        router = DefaultRootHttpRouter()
        with pytest.raises(RouterError, match=re.escape("Root router path may not be empty")):
            router.use(path, _noop)

    def test_relative_paths_are_refused(self) -> None:
        """A root path must start with '/' and the message names the path."""
        router = DefaultRootHttpRouter()
        with pytest.raises(
            RouterError, match=re.escape("Root router path 'api/x' must start with '/'")
        ):
            router.use("api/x", _noop)

    @pytest.mark.parametrize(
        ("existing", "new"),
        [
            ("/api/todo", "/api/todo"),
            ("/api/todo", "/api/todo/"),
            ("/api/todo", "/API/Todo"),
            ("/api/todo", "/api/todo/sub"),
            ("/api/todo/sub", "/api/todo"),
            ("/api", "/api/todo"),
        ],
    )
    def test_prefix_conflicts_are_refused(self, existing: str, new: str) -> None:
        """A path whose normalised form is a prefix of another (or vice versa) conflicts."""
        router = DefaultRootHttpRouter()
        router.use(existing, _noop)
        with pytest.raises(
            ConflictError,
            match=re.escape(f"Path {new} conflicts with the existing path {existing}"),
        ):
            router.use(new, _noop)

    def test_sibling_paths_sharing_a_prefix_string_coexist(self) -> None:
        """'/api/todo' and '/api/todos' do not conflict: prefixes count per segment."""
        router = DefaultRootHttpRouter()
        router.use("/api/todo", _noop)
        router.use("/api/todos", _noop)
        assert router.paths == ("/api/todo", "/api/todos")


async def _where(request: Request) -> JSONResponse:
    return JSONResponse(
        {"path": request.url.path, "root_path": request.scope["root_path"], "tag": "todo"}
    )


async def _todos(request: Request) -> PlainTextResponse:
    return PlainTextResponse("todos")


class TestDispatch:
    async def test_requests_reach_the_app_mounted_at_their_prefix(
        self, make_backend: BackendMaker
    ) -> None:
        """A request is served by the app whose path prefixes it, with root_path set."""
        backend = await make_backend()
        backend.root.use("/api/todo", Router([Route("/where", _where)]))
        backend.root.use("/api/todos", Router([Route("/where", _todos)]))
        async with client(backend.base_url) as http:
            todo = await http.get("/api/todo/where")
            todos = await http.get("/api/todos/where")
        assert todo.json() == {"path": "/api/todo/where", "root_path": "/api/todo", "tag": "todo"}
        assert todos.text == "todos"

    async def test_prefix_matching_ignores_case(self, make_backend: BackendMaker) -> None:
        """Mount paths match case-insensitively, like Express."""
        backend = await make_backend()
        backend.root.use("/api/todo", Router([Route("/where", _where)]))
        response = await fetch(backend.base_url, "/API/Todo/where")
        assert response.status_code == 200
        assert response.json()["root_path"] == "/API/Todo"

    async def test_unmounted_paths_get_a_json_404(self, make_backend: BackendMaker) -> None:
        """A path nothing is mounted at answers 404 with Backstage's error body."""
        backend = await make_backend()
        response = await fetch(backend.base_url, "/nothing/here?x=1")
        assert response.status_code == 404
        assert response.json() == {
            "error": {
                "name": "NotFoundError",
                "message": "No route for GET /nothing/here: nothing is mounted at this path",
            },
            "request": {"method": "GET", "url": "/nothing/here?x=1"},
            "response": {"statusCode": 404},
        }


def _raiser(error: Exception) -> Router:
    async def endpoint(request: Request) -> PlainTextResponse:
        raise error

    return Router([Route("/boom", endpoint, methods=["GET", "POST"])])


class TestErrorResponses:
    @pytest.mark.parametrize(
        ("error", "status", "name"),
        [
            (InputError("bad input"), 400, "InputError"),
            (NotAllowedError("not yours"), 403, "NotAllowedError"),
            (NotFoundError("no such todo"), 404, "NotFoundError"),
            (ServiceUnavailableError("later"), 503, "ServiceUnavailableError"),
            (RuntimeError("kaboom"), 500, "RuntimeError"),
        ],
        ids=["input", "not-allowed", "not-found", "unavailable", "unknown"],
    )
    async def test_errors_become_json_with_their_status(
        self, make_backend: BackendMaker, error: Exception, status: int, name: str
    ) -> None:
        """An exception from a route becomes a JSON error whose status follows its type."""
        backend = await make_backend()
        backend.root.use("/api/boom", _raiser(error))
        async with client(backend.base_url) as http:
            response = await http.post("/api/boom/boom")
        assert response.status_code == status
        assert response.json() == {
            "error": {"name": name, "message": str(error)},
            "request": {"method": "POST", "url": "/api/boom/boom"},
            "response": {"statusCode": status},
        }

    async def test_errors_named_like_backstage_errors_get_their_status(
        self, make_backend: BackendMaker
    ) -> None:
        """A foreign exception class named 'ConflictError' maps to 409 by its name."""
        backend = await make_backend()
        backend.root.use("/api/boom", _raiser(ConflictError("taken")))
        response = await fetch(backend.base_url, "/api/boom/boom")
        assert response.status_code == 409
        assert response.json()["error"] == {"name": "ConflictError", "message": "taken"}
