"""Durations in code: a ``timedelta`` or a ``HumanDuration`` dict (never a bare number)."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeAlias, TypedDict

__all__ = ["DurationLike", "HumanDuration"]


class HumanDuration(TypedDict, total=False):
    """A duration spelled out by unit, as Backstage's ``HumanDuration``: ``{"minutes": 10}``.

    Months count as 30 days and years as 365 days.
    """

    years: float
    months: float
    weeks: float
    days: float
    hours: float
    minutes: float
    seconds: float
    milliseconds: float


DurationLike: TypeAlias = timedelta | HumanDuration
"""What data-service methods take for a duration: a ``timedelta`` or a :class:`HumanDuration`."""
