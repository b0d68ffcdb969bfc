"""Starters that remember their test backends and stop them all: async and sync.

:class:`AsyncTestBackends` is what the ``test_backend`` fixture gives an async
test. :class:`SyncTestBackends` (the ``sync_test_backend`` fixture) serves
plain tests: it runs an event loop on a background thread, so servers the
backend starts keep answering while the test blocks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Iterable
from types import TracebackType
from typing import Self, TypeVar

from di_backend._backend import Backend
from di_backend._features import BackendFeature
from di_backend.errors import BackendStateError
from di_backend.testing import _live
from di_backend.testing._test_backend import ExtensionPoints, start_test_backend

__all__ = ["AsyncTestBackends", "SyncTestBackends"]

T = TypeVar("T")
R = TypeVar("R")


async def _stop_all(backends: list[Backend]) -> None:
    """Stop every backend, newest first, even when one fails; then raise the failures."""
    errors: list[Exception] = []
    while backends:
        try:
            await backends.pop().stop()
        except Exception as error:
            errors.append(error)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        msg = "Stopping test backends failed"
        raise ExceptionGroup(msg, errors)


class AsyncTestBackends:
    """Start test backends with ``await starter(features=..., extension_points=...)``.

    Every backend started here is stopped by :meth:`stop_all` (the
    ``test_backend`` fixture calls it at teardown, also when the test failed).
    """

    __slots__ = ("_backends", "_loop")

    def __init__(self) -> None:
        self._backends: list[Backend] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"<AsyncTestBackends running={len(self._backends)}>"

    @property
    def backends(self) -> tuple[Backend, ...]:
        """The backends started here and not stopped by :meth:`stop_all` yet."""
        return tuple(self._backends)

    async def __call__(
        self,
        *,
        features: Iterable[BackendFeature | str] = (),
        extension_points: ExtensionPoints[T] = (),
    ) -> Backend:
        """Start a test backend; see :func:`start_test_backend`."""
        backend = await start_test_backend(features=features, extension_points=extension_points)
        self._backends.append(backend)
        self._loop = asyncio.get_running_loop()
        return backend

    async def stop_all(self) -> None:
        """Stop every backend started here (newest first); raise what stopping raised."""
        await _stop_all(self._backends)

    def stop_all_blocking(self) -> None:
        """Like :meth:`stop_all`, from synchronous code: in the loop the backends started in.

        If that loop is closed, a new one is used, so shutdown hooks still run.
        """
        if self._loop is not None and self._backends:
            _live.run_blocking(self.stop_all, self._loop)


class SyncTestBackends:
    """Start test backends from plain (non-async) code; a loop runs on a background thread.

    Use it as a context manager, or call :meth:`close` (the
    ``sync_test_backend`` fixture does at teardown). Run anything async
    against a backend with :meth:`run`, e.g. ``starter.run(backend.stop())``.

    Example::

        with SyncTestBackends() as start:
            backend = start(features=[todo_plugin])
            items = start.run(client.list())
    """

    __slots__ = ("_backends", "_closed", "_loop", "_thread")

    def __init__(self) -> None:
        self._backends: list[Backend] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<SyncTestBackends running={len(self._backends)} closed={self._closed}>"

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._closed:
            msg = "SyncTestBackends is closed; create a new one to start more test backends"
            raise BackendStateError(msg)
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="di_backend-test-loop", daemon=True
            )
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    def run(self, awaitable: Awaitable[R]) -> R:
        """Await ``awaitable`` on the background loop and return its result (blocking).

        Raises:
            BackendStateError: called after :meth:`close`.
        """

        async def wait() -> R:
            return await awaitable

        loop = self._running_loop()
        return asyncio.run_coroutine_threadsafe(wait(), loop).result()

    def __call__(
        self,
        *,
        features: Iterable[BackendFeature | str] = (),
        extension_points: ExtensionPoints[T] = (),
    ) -> Backend:
        """Start a test backend on the background loop; see :func:`start_test_backend`."""
        backend = self.run(start_test_backend(features=features, extension_points=extension_points))
        self._backends.append(backend)
        return backend

    def close(self) -> None:
        """Stop every backend started here, then the loop and its thread (idempotent)."""
        if self._closed:
            return
        loop, thread = self._loop, self._thread
        try:
            if loop is not None:
                self.run(_stop_all(self._backends))
        finally:
            self._closed = True
            if loop is not None and thread is not None:
                asyncio.run_coroutine_threadsafe(_finish_tasks(), loop).result()
                loop.call_soon_threadsafe(loop.stop)
                thread.join()
                loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def _finish_tasks() -> None:
    """Cancel what is still running on the loop and close its async generators."""
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_asyncgens()
