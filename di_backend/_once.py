"""``AsyncOnce``: an async set-up run once, shared by concurrent callers, retried on failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["AsyncOnce"]

T = TypeVar("T")


class AsyncOnce(Generic[T]):
    """Awaiting :meth:`get` runs ``create`` the first time; later calls get its result.

    Concurrent first calls share the one run (a caller that is cancelled does
    not cancel it); a run that failed is tried again by the next call.
    """

    __slots__ = ("_create", "_task")

    def __init__(self, create: Callable[[], Awaitable[T]]) -> None:
        self._create = create
        self._task: asyncio.Future[T] | None = None

    async def get(self) -> T:
        """The result of the one successful run of ``create``."""
        task = self._task
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = self._task = asyncio.ensure_future(self._create())
        return await asyncio.shield(task)
