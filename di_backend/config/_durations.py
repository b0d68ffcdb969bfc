"""Durations: Backstage's config forms, and ``timedelta`` / ``HumanDuration`` in code."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import cast

from di_backend.errors import ConfigTypeError
from di_backend.services import ConfigService, JsonValue

__all__ = ["parse_config_duration", "read_duration_from_config", "to_timedelta"]

_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_HUMAN_KEYS = {
    "milliseconds": 0.001,
    "seconds": 1.0,
    "minutes": 60.0,
    "hours": 3600.0,
    "days": 86400.0,
    "weeks": 7 * 86400.0,
    "months": 30 * 86400.0,
    "years": 365 * 86400.0,
}
_SHORT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|sec|s|min|m|h|d)\s*$")
_ISO = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_config_duration(value: JsonValue, key: str) -> float:
    """Seconds in a config duration (ms number, ``"5s"``, ``"PT5S"``, ``{seconds: 5}``).

    Raises:
        ConfigTypeError: the value is none of those; the message names ``key``.
    """
    if isinstance(value, bool):
        pass
    elif isinstance(value, int | float):
        return float(value) / 1000.0
    elif isinstance(value, str):
        short = _SHORT.match(value)
        if short:
            return float(short.group(1)) * _UNITS[short.group(2)]
        iso = _ISO.match(value.strip())
        if iso and any(iso.groupdict().values()):
            parts = {k: float(v) for k, v in iso.groupdict().items() if v is not None}
            return sum(amount * _HUMAN_KEYS[unit] for unit, amount in parts.items())
    elif isinstance(value, dict) and value:
        total = 0.0
        for unit, amount in value.items():
            if (
                unit not in _HUMAN_KEYS
                or isinstance(amount, bool)
                or not isinstance(amount, int | float)
            ):
                break
            total += float(amount) * _HUMAN_KEYS[unit]
        else:
            return total
    msg = (
        f"Invalid duration at '{key}', got {value!r}; expected milliseconds as a number, "
        "a string like '5s' or 'PT5S', or an object like {seconds: 5}"
    )
    raise ConfigTypeError(msg)


def read_duration_from_config(
    config: ConfigService, key: str, default: timedelta | None = None
) -> timedelta | None:
    """Read a duration at ``key``: a number of milliseconds, ``"5s"``, ``"PT5S"``, ``{seconds: 5}``.

    Returns ``default`` when the key is absent.

    Raises:
        ConfigTypeError: the value is none of those shapes, not finite, or more than a
            duration can hold; the message names ``key``.
    """
    value = config.get_optional(key)
    if value is None:
        return default
    return seconds_to_timedelta(parse_config_duration(value, key), key)


def seconds_to_timedelta(seconds: float, key: str) -> timedelta:
    """``timedelta(seconds=seconds)``, or a config error naming ``key`` when it cannot be one.

    Raises:
        ConfigTypeError: ``seconds`` is not finite or beyond ``timedelta``'s range.
    """
    try:
        if not math.isfinite(seconds):
            raise OverflowError
        return timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        msg = (
            f"Invalid duration at '{key}', got {seconds!r} seconds: more than a duration can "
            f"hold (at most {timedelta.max.days} days)"
        )
        raise ConfigTypeError(msg) from None


def to_timedelta(value: object, what: str) -> timedelta:
    """Turn a ``timedelta`` or ``HumanDuration`` dict given in code into a ``timedelta``.

    Args:
        value: what the caller passed.
        what: names the argument in messages (``"ttl of cache.set"``).

    Raises:
        TypeError: ``value`` is a plain number (ambiguous: say the unit), or no duration.
        ValueError: a unit is unknown or an amount is not a finite number.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        msg = (
            f"{what} must be a timedelta or a duration dict, not the plain number {value!r}: "
            f"say the unit, e.g. timedelta(milliseconds={value!r}) or {{'seconds': {value!r}}}"
        )
        raise TypeError(msg)
    if not isinstance(value, Mapping) or not value:
        msg = (
            f"{what} must be a timedelta or a duration dict such as {{'minutes': 10}}, "
            f"got {value!r}"
        )
        raise TypeError(msg)
    total = 0.0
    for unit, amount in cast("Mapping[object, object]", value).items():
        if unit not in _HUMAN_KEYS:
            expected = ", ".join(f"'{name}'" for name in _HUMAN_KEYS)
            msg = f"{what} has the unknown unit {unit!r}; expected one or more of {expected}"
            raise ValueError(msg)
        if (
            isinstance(amount, bool)
            or not isinstance(amount, int | float)
            or not math.isfinite(amount)
        ):
            msg = f"{what} has {amount!r} for {unit!r}; expected a finite number"
            raise ValueError(msg)
        total += float(amount) * _HUMAN_KEYS[str(unit)]
    return timedelta(seconds=total)
