"""Default lifecycle services: root and per-plugin startup / shutdown hooks."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable

from di_backend.errors import LifecycleError, describe_error
from di_backend.services import LifecycleHook, LoggerService

__all__ = ["DefaultLifecycle", "DefaultRootLifecycle", "run_hooks"]


async def run_hooks(hooks: list[LifecycleHook], logger: LoggerService, failure: str) -> None:
    """Run hooks concurrently; log each failure as ``<failure>, <Name: message>``.

    Plain functions run one after another; the awaitables they and ``async``
    hooks return are awaited together. A hook's error never propagates.
    """
    pending: list[Awaitable[None]] = []
    for hook in hooks:
        try:
            result = hook()
        except Exception as err:
            logger.error(f"{failure}, {describe_error(err)}", err)
            continue
        if inspect.isawaitable(result):
            pending.append(result)
    if not pending:
        return
    outcomes = await asyncio.gather(*pending, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            logger.error(f"{failure}, {describe_error(outcome)}", outcome)
        elif isinstance(outcome, BaseException):
            raise outcome


class DefaultLifecycle:
    """Per-plugin hooks: startup right after the plugin started, shutdown at stop."""

    __slots__ = ("_logger", "_shutdown_hooks", "_shutting_down", "_started", "_startup_hooks")
    # How a failing hook is logged (Backstage's wording differs for root and plugin hooks).
    _startup_failure = "Plugin startup hook failed"
    _shutdown_failure = "Plugin shutdown hook failed"

    def __init__(self, logger: LoggerService) -> None:
        """Create a lifecycle; hook failures are logged to ``logger``."""
        self._logger = logger
        self._startup_hooks: list[LifecycleHook] = []
        self._shutdown_hooks: list[LifecycleHook] = []
        self._started = False
        self._shutting_down = False

    @property
    def logger(self) -> LoggerService:
        """The logger that receives hook failures."""
        return self._logger

    def add_startup_hook(self, hook: LifecycleHook) -> None:
        """Run ``hook`` once startup is reached (for a plugin: once it initialised).

        Raises:
            LifecycleError: startup already ran.
        """
        if self._started:
            msg = "Attempted to add startup hook after startup"
            raise LifecycleError(msg)
        self._startup_hooks.append(hook)

    def add_shutdown_hook(self, hook: LifecycleHook) -> None:
        """Run ``hook`` when the backend stops.

        Raises:
            LifecycleError: shutdown already began.
        """
        if self._shutting_down:
            msg = "Attempted to add shutdown hook after shutdown"
            raise LifecycleError(msg)
        self._shutdown_hooks.append(hook)

    async def startup(self) -> None:
        """Run the startup hooks (once)."""
        if self._started:
            return
        self._started = True
        hooks, self._startup_hooks = self._startup_hooks, []
        await run_hooks(hooks, self._logger, self._startup_failure)

    async def shutdown(self) -> None:
        """Run the shutdown hooks (once)."""
        if self._shutting_down:
            return
        self._shutting_down = True
        hooks, self._shutdown_hooks = self._shutdown_hooks, []
        await run_hooks(hooks, self._logger, self._shutdown_failure)


class DefaultRootLifecycle(DefaultLifecycle):
    """Backend-wide hooks: startup after every plugin, before-shutdown, shutdown."""

    __slots__ = ("_before_hooks", "_before_started")
    _startup_failure = "Startup hook failed"
    _shutdown_failure = "Shutdown hook failed"

    def __init__(self, logger: LoggerService) -> None:
        """Create the root lifecycle; hook failures are logged to ``logger``."""
        super().__init__(logger)
        self._before_hooks: list[LifecycleHook] = []
        self._before_started = False

    def add_before_shutdown_hook(self, hook: LifecycleHook) -> None:
        """Run ``hook`` when stopping begins, before plugins shut down.

        Raises:
            LifecycleError: before-shutdown already began.
        """
        if self._before_started:
            msg = "Attempt to add before shutdown hook after shutdown has started"
            raise LifecycleError(msg)
        self._before_hooks.append(hook)

    async def before_shutdown(self) -> None:
        """Run the before-shutdown hooks (once)."""
        if self._before_started:
            return
        self._before_started = True
        hooks, self._before_hooks = self._before_hooks, []
        await run_hooks(hooks, self._logger, "Before shutdown hook failed")
