"""Logging exceptions that escape background tasks, with the plugin that spawned them.

While a backend runs, an exception nobody retrieves from a task would otherwise
be printed by asyncio's default handler (or pass silently). The backend installs
a loop exception handler that logs it through the root logger as
``Unhandled exception`` and a task factory that remembers which plugin's init
created each task (a context variable is set while a plugin starts; tasks copy
the context they are created in). Both are removed when the backend stops.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import Coroutine, Generator
from typing import TYPE_CHECKING, Any, TypeAlias

from di_backend._log_throttle import LogThrottle

if TYPE_CHECKING:
    from di_backend.services import LoggerService

__all__ = ["UnhandledErrorHandler", "plugin_scope"]

_ACCEPT_FAILED = "socket.accept() out of system resource"  # asyncio's message

_CURRENT_PLUGIN: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "di_backend_plugin", default=None
)
# asyncio's own signature for task factories; Any is asyncio's, not ours.
_TaskFactory: TypeAlias = Any


class plugin_scope:
    """Mark tasks created inside the block as belonging to ``plugin_id``.

    A class rather than a ``@contextmanager`` generator: one is entered per plugin
    at start, and this costs a third of the generator's enter and exit.
    """

    __slots__ = ("_plugin_id", "_token")

    def __init__(self, plugin_id: str) -> None:
        self._plugin_id = plugin_id

    def __enter__(self) -> None:
        self._token = _CURRENT_PLUGIN.set(self._plugin_id)

    def __exit__(self, *exc_info: object) -> None:
        _CURRENT_PLUGIN.reset(self._token)


class UnhandledErrorHandler:
    """Installs and removes the loop exception handler and task factory of one backend."""

    __slots__ = ("_loop", "_origins", "_previous_factory", "_previous_handler")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous_handler: object = None
        self._previous_factory: _TaskFactory = None
        self._origins: weakref.WeakKeyDictionary[asyncio.Future[Any], str] = (
            weakref.WeakKeyDictionary()
        )

    def install(self, logger: LoggerService) -> None:
        """Log unhandled task exceptions of the running loop through ``logger``."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._previous_handler = loop.get_exception_handler()
        self._previous_factory = loop.get_task_factory()
        previous_factory = self._previous_factory
        origins = self._origins

        # The Any types below are typeshed's signature for asyncio task factories.
        def factory(
            loop: asyncio.AbstractEventLoop,
            coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any],
            **kwargs: Any,
        ) -> asyncio.Future[Any]:
            if previous_factory is not None:
                task: asyncio.Future[Any] = previous_factory(loop, coro, **kwargs)
            else:
                task = asyncio.Task(coro, loop=loop, **kwargs)
            plugin_id = _CURRENT_PLUGIN.get()
            if plugin_id is not None:
                origins[task] = plugin_id
            return task

        throttle = LogThrottle()

        def handler(_loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
            error = context.get("exception")
            if context.get("message") == _ACCEPT_FAILED:
                # asyncio retries every second, per listening socket: one line in 10 s.
                held = throttle.due(_ACCEPT_FAILED)
                if held is not None:
                    more = f" ({held} more since the last report)" if held else ""
                    logger.child(type="acceptFailure").error(
                        f"Cannot accept connections: {error}; the process is out of file "
                        "descriptors or memory. Raise its open-file limit or lower "
                        f"backend.server.maxConnections{more}"
                    )
                return
            future = context.get("future")
            plugin_id = (
                origins.get(future)  # pyright: ignore[reportUnknownArgumentType]
                if isinstance(future, asyncio.Future)
                else None
            )
            fields: dict[str, object] = {"type": "unhandledException"}
            if plugin_id is not None:
                fields["plugin"] = plugin_id
            logger.child(**fields).error(
                f"Unhandled exception: {context.get('message', 'Unhandled exception')}",
                error if isinstance(error, BaseException) else None,
            )

        loop.set_task_factory(factory)
        loop.set_exception_handler(handler)

    def remove(self) -> None:
        """Restore the loop's previous handler and task factory."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        previous = self._previous_handler
        loop.set_exception_handler(previous if callable(previous) else None)
        loop.set_task_factory(self._previous_factory)
