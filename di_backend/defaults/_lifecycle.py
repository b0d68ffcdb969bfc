"""Default lifecycle services: root and per-plugin startup / shutdown hooks."""

from __future__ import annotations

import asyncio
import inspect
from datetime import timedelta

from di_backend.errors import LifecycleError, describe_error
from di_backend.services import LifecycleHook, LoggerService

__all__ = [
    "DEFAULT_SHUTDOWN_HOOK_TIMEOUT",
    "SHUTDOWN_HOOK_TIMEOUT_KEY",
    "DefaultLifecycle",
    "DefaultRootLifecycle",
    "hook_name",
    "run_hooks",
]


SHUTDOWN_HOOK_TIMEOUT_KEY = "backend.lifecycle.shutdownHookTimeout"
"""The config key of the time a shutdown (or before-shutdown) hook may take."""

DEFAULT_SHUTDOWN_HOOK_TIMEOUT = timedelta(seconds=60)
"""How long a shutdown hook may take unless configured (the server's own stop takes 30 s)."""


def hook_name(hook: object) -> str:
    """``module.qualname`` of a hook function or bound method, else its ``repr``."""
    qualname = getattr(hook, "__qualname__", None)
    module = getattr(hook, "__module__", None)
    if not isinstance(qualname, str):
        return repr(hook)
    return f"{module}.{qualname}" if isinstance(module, str) else qualname


def _call_hooks(
    hooks: list[LifecycleHook], logger: LoggerService, failure: str
) -> list[tuple[LifecycleHook, asyncio.Future[None]]]:
    """Call each hook; return the awaitables they gave, as futures, with their hooks."""
    pending: list[tuple[LifecycleHook, asyncio.Future[None]]] = []
    for hook in hooks:
        try:
            result = hook()
        except Exception as err:
            logger.error(f"{failure}, {describe_error(err)}", err)
            continue
        if inspect.isawaitable(result):
            pending.append((hook, asyncio.ensure_future(result)))
    return pending


async def run_hooks(
    hooks: list[LifecycleHook],
    logger: LoggerService,
    failure: str,
    *,
    limit: timedelta | None = None,
    owner: str = "",
) -> None:
    """Run hooks concurrently; log each failure as ``<failure>, <Name: message>``.

    Plain functions run one after another; the awaitables they and ``async``
    hooks return are awaited together. A hook's error never propagates. With a
    ``limit``, a hook still running when it passes is cancelled and logged by name
    (``owner`` says whose hook it is), so that one hook cannot hang the stop.
    """
    pending = _call_hooks(hooks, logger, failure)
    if not pending:
        return
    tasks = [task for _, task in pending]
    try:
        _, late = await asyncio.wait(tasks, timeout=limit.total_seconds() if limit else None)
    except BaseException:
        for task in tasks:
            task.cancel()
        raise
    kind = failure.split(" failed", maxsplit=1)[0]
    for hook, task in pending:
        if task in late and limit is not None:
            task.cancel()
            logger.error(
                f"{kind} {hook_name(hook)}{owner} did not finish within "
                f"{limit.total_seconds():g}s ({SHUTDOWN_HOOK_TIMEOUT_KEY}); it was cancelled "
                "so that the backend can finish stopping"
            )
    if late:
        await asyncio.wait(late, timeout=1.0)  # let cancelled hooks run their finally blocks
    for task in tasks:
        outcome = None if task in late or task.cancelled() else task.exception()
        if isinstance(outcome, Exception):
            logger.error(f"{failure}, {describe_error(outcome)}", outcome)
        elif outcome is not None:
            raise outcome


class DefaultLifecycle:
    """Per-plugin hooks: startup right after the plugin started, shutdown at stop."""

    __slots__ = (
        "_logger",
        "_owner",
        "_shutdown_hooks",
        "_shutdown_timeout",
        "_shutting_down",
        "_started",
        "_startup_hooks",
    )
    # How a failing hook is logged (Backstage's wording differs for root and plugin hooks).
    _startup_failure = "Plugin startup hook failed"
    _shutdown_failure = "Plugin shutdown hook failed"

    def __init__(
        self,
        logger: LoggerService,
        *,
        shutdown_timeout: timedelta | None = DEFAULT_SHUTDOWN_HOOK_TIMEOUT,
        plugin_id: str | None = None,
    ) -> None:
        """Create a lifecycle; hook failures are logged to ``logger``.

        A shutdown hook still running after ``shutdown_timeout`` (``None``: no
        limit) is cancelled and logged, naming the hook and ``plugin_id``.
        """
        self._logger = logger
        self._shutdown_timeout = shutdown_timeout
        self._owner = "" if plugin_id is None else f" of plugin '{plugin_id}'"
        self._startup_hooks: list[LifecycleHook] = []
        self._shutdown_hooks: list[LifecycleHook] = []
        self._started = False
        self._shutting_down = False

    @property
    def logger(self) -> LoggerService:
        """The logger that receives hook failures."""
        return self._logger

    @property
    def shutdown_timeout(self) -> timedelta | None:
        """How long a shutdown hook (and, for the root, a teardown) may take."""
        return self._shutdown_timeout

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
        await run_hooks(
            hooks,
            self._logger,
            self._shutdown_failure,
            limit=self._shutdown_timeout,
            owner=self._owner,
        )


class DefaultRootLifecycle(DefaultLifecycle):
    """Backend-wide hooks: startup after every plugin, before-shutdown, shutdown."""

    __slots__ = ("_before_hooks", "_before_started")
    _startup_failure = "Startup hook failed"
    _shutdown_failure = "Shutdown hook failed"

    def __init__(
        self,
        logger: LoggerService,
        *,
        shutdown_timeout: timedelta | None = DEFAULT_SHUTDOWN_HOOK_TIMEOUT,
    ) -> None:
        """Create the root lifecycle; hook failures are logged to ``logger``.

        A before-shutdown or shutdown hook still running after ``shutdown_timeout``
        (``None``: no limit) is cancelled and logged by name.
        """
        super().__init__(logger, shutdown_timeout=shutdown_timeout)
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
        await run_hooks(
            hooks, self._logger, "Before shutdown hook failed", limit=self._shutdown_timeout
        )
