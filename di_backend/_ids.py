"""The id rules for plugins and modules (Backstage's ``ID_PATTERN``)."""

from __future__ import annotations

import re
import warnings

from di_backend.errors import InvalidIdError

_RULE = (
    "must match the pattern /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/i "
    "(letters, digits, and dashes only, starting with a letter)"
)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _matches(value: str, separators: str) -> bool:
    """Whether ``value`` matches ``/^[a-z][a-z0-9]*(?:[<separators>][a-z0-9]+)*$/i`` as in JS.

    The classes are spelled out and matched with ``fullmatch``: ``re.IGNORECASE`` lets
    ``[a-z]`` match four non-ASCII letters (the Kelvin sign, the long s, dotted and
    dotless i) and ``$`` matches before a trailing newline, where JavaScript's pattern
    (Backstage's) does neither. Compiled on first use, off ``import di_backend``.
    """
    pattern = _PATTERNS.get(separators)
    if pattern is None:
        part = "[A-Za-z0-9]+"
        pattern = _PATTERNS[separators] = re.compile(
            f"[A-Za-z][A-Za-z0-9]*(?:[{separators}]{part})*"
        )
    return pattern.fullmatch(value) is not None


def validate_plugin_id(plugin_id: str) -> None:
    """Raise :class:`InvalidIdError` for a bad plugin id; warn for an underscore id."""
    if not _is_str(plugin_id):
        msg = f"Invalid pluginId {plugin_id!r}, {_RULE}"
        raise InvalidIdError(msg)
    if _matches(plugin_id, "-"):
        return
    if _matches(plugin_id, "-_"):
        warnings.warn(
            f"WARNING: The pluginId '{plugin_id}' will be invalid soon, please change it to "
            f"match the pattern /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/i "
            "(letters, digits, and dashes only, starting with a letter)",
            DeprecationWarning,
            stacklevel=3,
        )
        return
    msg = f"Invalid pluginId '{plugin_id}', {_RULE}"
    raise InvalidIdError(msg)


def validate_module_id(plugin_id: str, module_id: str) -> None:
    """Raise :class:`InvalidIdError` for a bad module id; warn for an underscore id."""
    if not _is_str(module_id):
        msg = f"Invalid moduleId {module_id!r} for plugin '{plugin_id}', {_RULE}"
        raise InvalidIdError(msg)
    if _matches(module_id, "-"):
        return
    if _matches(module_id, "-_"):
        warnings.warn(
            f"WARNING: The moduleId '{module_id}' for plugin '{plugin_id}', will be invalid "
            "soon, please change it to match the pattern /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/i "
            "(letters, digits, and dashes only, starting with a letter)",
            DeprecationWarning,
            stacklevel=3,
        )
        return
    msg = f"Invalid moduleId '{module_id}' for plugin '{plugin_id}', {_RULE}"
    raise InvalidIdError(msg)
