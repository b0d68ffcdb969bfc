"""``AbortController``: the signal a task run receives."""

from __future__ import annotations

import asyncio

__all__ = ["AbortController", "Signal", "TaskAbortedError"]


class TaskAbortedError(Exception):
    """Why a run was aborted: ``Task timed out``, ``Task was cancelled``, shutdown."""


class Signal:
    """An :class:`~di_backend.services.AbortSignal` that an :class:`AbortController` fires."""

    __slots__ = ("_event", "_reason")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._reason: BaseException | None = None

    def __repr__(self) -> str:
        return f"<Signal aborted={self.aborted} reason={self._reason!r}>"

    @property
    def aborted(self) -> bool:
        """True once fired."""
        return self._event.is_set()

    @property
    def reason(self) -> BaseException | None:
        """Why it fired."""
        return self._reason

    async def wait(self) -> None:
        """Return once fired."""
        await self._event.wait()


class AbortController:
    """Owns a :class:`Signal` and fires it once."""

    __slots__ = ("signal",)

    def __init__(self) -> None:
        self.signal = Signal()

    def abort(self, reason: BaseException) -> None:
        """Fire the signal with ``reason`` (later calls do nothing)."""
        if not self.signal.aborted:
            self.signal._reason = reason
            self.signal._event.set()
