"""The id rules for plugins and modules (Backstage's ``ID_PATTERN``)."""

from __future__ import annotations

import re
import warnings

from di_backend.errors import InvalidIdError

ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$", re.IGNORECASE)
_OLD_ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$", re.IGNORECASE)
_RULE = (
    "must match the pattern /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/i "
    "(letters, digits, and dashes only, starting with a letter)"
)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def validate_plugin_id(plugin_id: str) -> None:
    """Raise :class:`InvalidIdError` for a bad plugin id; warn for an underscore id."""
    if not _is_str(plugin_id):
        msg = f"Invalid pluginId {plugin_id!r}, {_RULE}"
        raise InvalidIdError(msg)
    if ID_PATTERN.match(plugin_id):
        return
    if _OLD_ID_PATTERN.match(plugin_id):
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
    if ID_PATTERN.match(module_id):
        return
    if _OLD_ID_PATTERN.match(module_id):
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
