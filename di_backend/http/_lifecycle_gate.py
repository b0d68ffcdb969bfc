"""Hold a plugin's requests until it has started, refuse them once it shuts down."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from di_backend.http._errors import ServiceUnavailableError

__all__ = ["DEFAULT_STARTUP_REQUEST_PAUSE_TIMEOUT", "LifecycleGate"]

DEFAULT_STARTUP_REQUEST_PAUSE_TIMEOUT = timedelta(seconds=5)
"""How long early requests wait (``backend.lifecycle.startupRequestPauseTimeout``)."""


class LifecycleGate:
    """Backstage's lifecycle middleware for one plugin.

    Requests that arrive before :meth:`mark_started` wait up to ``pause_timeout``
    and then fail with 503 ``Service has not started up yet``; after
    :meth:`mark_shutting_down` they fail with 503 ``Service is shutting down``.
    """

    def __init__(
        self,
        plugin_id: str,
        pause_timeout: timedelta = DEFAULT_STARTUP_REQUEST_PAUSE_TIMEOUT,
    ) -> None:
        """Create a closed gate for ``plugin_id``."""
        self._plugin_id = plugin_id
        self._pause_timeout = pause_timeout.total_seconds()
        self._opened = asyncio.Event()
        self._shutting_down = False
        # started and not shutting down: read by every request, so a plain attribute
        self.is_open = False

    @property
    def started(self) -> bool:
        """Whether the plugin has started (and not begun shutting down)."""
        return self.is_open

    def mark_started(self) -> None:
        """Let requests through (and release the waiting ones)."""
        self._opened.set()
        self.is_open = not self._shutting_down

    def mark_shutting_down(self) -> None:
        """Refuse every request from now on (and release the waiting ones)."""
        self._shutting_down = True
        self.is_open = False
        self._opened.set()

    async def wait(self) -> None:
        """Return when a request may proceed.

        Raises:
            ServiceUnavailableError: the plugin did not start in time, or is shutting down.

        """
        if not self._opened.is_set():
            try:
                await asyncio.wait_for(self._opened.wait(), timeout=self._pause_timeout)
            except TimeoutError:
                msg = "Service has not started up yet"
                raise ServiceUnavailableError(msg) from None
        if self._shutting_down:
            msg = "Service is shutting down"
            raise ServiceUnavailableError(msg)
