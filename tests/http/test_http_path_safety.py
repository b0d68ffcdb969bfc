"""Auth policies cannot be bypassed with dot segments: such paths are refused, over raw HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from starlette.staticfiles import StaticFiles

from di_backend import (
    Backend,
    PluginRegistrationPoints,
    core_services,
    create_backend_plugin,
    inject,
)
from di_backend.services import HttpRouterService
from di_backend.testing import mock_credentials, mock_services, server_url, start_test_backend

NOBODY = mock_credentials.none.header()


async def _raw_get(base_url: str, target: str) -> tuple[int, bytes]:
    """Send ``GET <target>`` exactly as written (no client-side normalisation)."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {NOBODY}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        async with asyncio.timeout(10):
            response = await reader.read()
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.fixture(name="files_backend")
async def _files_backend(tmp_path: Path) -> Backend:
    """A plugin serving ``tmp_path`` as files, with ``/public`` open to anyone."""
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "hello.txt").write_text("hello", encoding="utf-8")
    (tmp_path / "private.txt").write_text("SECRET", encoding="utf-8")

    def register(env: PluginRegistrationPoints) -> None:
        async def init(http_router: HttpRouterService = inject(core_services.http_router)) -> None:
            http_router.use(StaticFiles(directory=tmp_path))
            http_router.add_auth_policy(path="/public", allow="unauthenticated")

        env.register_init(init)

    anonymous = mock_services.http_auth.factory(default_credentials=mock_credentials.none())
    return await start_test_backend(
        features=[create_backend_plugin(plugin_id="files", register=register), anonymous]
    )


@pytest.mark.parametrize(
    "target",
    [
        "/api/files/public/../private.txt",
        "/api/files/public/%2e%2e/private.txt",
        "/api/files/public/%2E%2E/private.txt",
        "/api/files/public%2F..%2Fprivate.txt",
        "/api/files/public/./../private.txt",
        "/api/files/PUBLIC/../private.txt",
        "/api/files/public/..%5Cprivate.txt",
    ],
)
async def test_dot_segments_never_reach_a_protected_file(
    files_backend: Backend, target: str
) -> None:
    """Each spelling of ``public/../private.txt`` is a 400 naming the rule, never the file."""
    try:
        status, body = await _raw_get(server_url(files_backend), target)
    finally:
        await files_backend.stop()
    assert b"SECRET" not in body
    assert status == 400, body
    assert b"paths are not normalised" in body


async def test_open_and_protected_files_behave(files_backend: Backend) -> None:
    """Without credentials the open file is served and the protected one is a 401."""
    try:
        base = server_url(files_backend)
        open_status, open_body = await _raw_get(base, "/api/files/public/hello.txt")
        closed_status, closed_body = await _raw_get(base, "/api/files/private.txt")
    finally:
        await files_backend.stop()
    assert (open_status, open_body) == (200, b"hello")
    assert closed_status == 401
    assert b"SECRET" not in closed_body
