"""Fewer garbage collections while a backend starts.

Starting a backend allocates many objects that all live as long as the backend
(refs, providers, cells, plugin containers). CPython's cyclic collector runs a
young-generation pass every 700 allocations and a full pass every 100 of those,
each walking more of a heap that only grows: at 10 000 plugins that was more
than half of the start time. While any backend of the process starts, the
young-generation threshold is raised to 100 000; it is restored when the last
concurrent start ends, whether it succeeded or not.
"""

from __future__ import annotations

import gc

__all__ = ["fewer_collections"]

_START_THRESHOLD = 100_000


class _Pause:
    """How many starts are running, and the thresholds to restore after the last."""

    depth = 0
    saved: tuple[int, ...] = ()


class fewer_collections:
    """Raise the collector's young-generation threshold for the duration of the block.

    A class rather than a ``@contextmanager`` generator: one is entered per start,
    and this costs a fraction of the generator's enter and exit.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        if _Pause.depth == 0:
            _Pause.saved = gc.get_threshold()
            young = _Pause.saved[0]
            if 0 < young < _START_THRESHOLD:  # 0 means collection is off: leave it so
                gc.set_threshold(_START_THRESHOLD, *_Pause.saved[1:])
        _Pause.depth += 1

    def __exit__(self, *exc_info: object) -> None:
        _Pause.depth -= 1
        if _Pause.depth == 0:
            gc.set_threshold(*_Pause.saved)
