"""``${VAR}`` substitution inside configuration strings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Substitution", "substitute"]

# Backstage's pattern: ``${...}`` or the escaped ``$${...}``, no braces inside.
_PATTERN = re.compile(r"(\$?\$\{[^{}]*\})")


@dataclass(frozen=True)
class Substitution:
    """The result of substituting one string.

    Attributes:
        value: the new string, or ``None`` when a variable without default is unset.
        secrets: the environment values that were inserted.
        unset: the variable that was unset, when ``value`` is ``None``.

    """

    value: str | None
    secrets: tuple[str, ...]
    unset: str | None = None


def substitute(text: str, env: Mapping[str, str]) -> Substitution:
    """Replace every ``${VAR}`` in ``text`` with the environment variable's value.

    * ``${VAR}``: the value of ``VAR``; if ``VAR`` is unset the whole string is
      undefined (``value`` is ``None``) and the key is dropped from the config.
    * ``${VAR:-default}``: ``default`` when ``VAR`` is unset or empty.
    * ``$${...}``: the literal text ``${...}``.

    Whitespace around the name is ignored.

    Args:
        text: a string value from a config file.
        env: the environment.

    Returns:
        The substituted string and the inserted environment values.

    """
    parts = _PATTERN.split(text)
    if len(parts) == 1:
        return Substitution(text, ())
    out: list[str] = []
    secrets: list[str] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            out.append(part)
        elif part.startswith("$$"):
            out.append(part[1:])
        else:
            name, has_default, default = part[2:-1].partition(":-")
            value = env.get(name.strip())
            if value is not None and (value or not has_default):
                secrets.append(value)
                out.append(value)
            elif has_default:
                out.append(default)
            else:
                return Substitution(None, tuple(secrets), name.strip())
    return Substitution("".join(out), tuple(secrets))
