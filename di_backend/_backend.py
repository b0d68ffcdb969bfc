"""``Backend``: add features, start, stop, run."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterable
from types import TracebackType
from typing import Self

from di_backend._factories import ServiceFactory
from di_backend._features import BackendFeature
from di_backend._initializer import BackendInitializer
from di_backend._registry import check_not_plugin_metadata
from di_backend._results import BackendStartupResult
from di_backend.errors import InvalidFeatureError

__all__ = ["Backend", "create_specialized_backend"]


class Backend:
    """A backend: a set of features, started and stopped as one.

    Create it with :func:`create_specialized_backend` or ``create_backend``.
    It is also an async context manager that stops it on exit.
    """

    __slots__ = ("_initializer",)

    def __init__(self, initializer: BackendInitializer) -> None:
        """Wrap an initializer; use the ``create_*`` functions instead."""
        self._initializer = initializer

    def __repr__(self) -> str:
        return f"<Backend {self._initializer.registry.container!r}>"

    def add(self, feature: BackendFeature | str) -> None:
        """Add a feature, or an import string (``"pkg.mod"`` adds its ``default``).

        Features are read at :meth:`start`; an explicitly added service factory
        overrides the default for its ref.

        Raises:
            BackendStateError: the backend has already started.
        """
        checked: object = feature  # callers without a type checker may pass anything
        if not isinstance(checked, BackendFeature | str):
            msg = (
                "Backend.add expects a service factory, plugin, module, feature loader or "
                f"import string, got {feature!r}"
            )
            raise InvalidFeatureError(msg)
        self._initializer.add(feature)

    async def start(self) -> BackendStartupResult:
        """Start every feature; return the :class:`BackendStartupResult`.

        Raises:
            BackendStartupError: a plugin or module failed and config does not allow it
                (whatever started was stopped again).
            BackendStateError: already started or stopped.
        """
        return await self._initializer.start()

    async def stop(self) -> None:
        """Run shutdown hooks and teardowns; idempotent, safe after a failed start."""
        await self._initializer.stop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def run(self) -> None:
        """Start, wait for SIGINT or SIGTERM, stop, and return (blocking).

        A signal while the backend is still starting cancels the start and stops
        what had started, as ``di-backend start`` does.
        """
        asyncio.run(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, stopping.set)
        start = asyncio.ensure_future(self.start())
        signalled = asyncio.ensure_future(stopping.wait())
        try:
            try:
                await asyncio.wait({start, signalled}, return_when=asyncio.FIRST_COMPLETED)
                if not start.done():  # a signal during start: cancel it, as the CLI does
                    start.cancel()
                    with contextlib.suppress(BaseException):
                        await start
                    await self.stop()
                    return
                start.result()  # a failed start raises here
            except BaseException:
                if not start.done():
                    start.cancel()
                    with contextlib.suppress(BaseException):
                        await start
                await self.stop()
                raise
            await signalled
            await self.stop()
        finally:
            signalled.cancel()
            for sig in signals:
                loop.remove_signal_handler(sig)


def create_specialized_backend(
    *, default_service_factories: Iterable[ServiceFactory[object]] = ()
) -> Backend:
    """Create a backend whose default service factories are exactly the given ones.

    The core lifecycle, logger and config refs fall back to their
    ``default_factory`` when no factory for them is given.

    Raises:
        ConflictError: two defaults for the same (singleton) ref, or one for
            ``core.pluginMetadata``.
    """
    factories = list(default_service_factories)
    for factory in factories:
        check_not_plugin_metadata(factory)
    return Backend(BackendInitializer(factories))
