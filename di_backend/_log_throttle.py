"""At most one log line per kind of event and interval, with a count of what was held back."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["LogThrottle"]


class LogThrottle:
    """Decide whether an event of a kind is logged now; count those that are not.

    ``due(kind)`` is ``None`` while the kind was logged less than ``interval`` seconds
    ago (the event is counted), else the number of events held back since the last
    line: log it with that count.
    """

    __slots__ = ("_clock", "_held", "_interval", "_last")

    def __init__(self, interval: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        """Allow one line per kind every ``interval`` seconds."""
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def due(self, kind: str) -> int | None:
        """Return the held-back count if an event of ``kind`` may be logged now, else ``None``."""
        now = self._clock()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._held[kind] = self._held.get(kind, 0) + 1
            return None
        self._last[kind] = now
        return self._held.pop(kind, 0)
