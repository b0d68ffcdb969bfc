"""Feature loaders and import strings: features that produce more features."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable

from di_backend._features import BackendFeature
from di_backend._inject import CallSpec, read_dependencies
from di_backend._refs import ExtensionPoint, Scope
from di_backend.errors import InvalidDependencyError, InvalidFeatureError

__all__ = [
    "BackendFeatureLoader",
    "FeatureLike",
    "LoaderOutput",
    "create_backend_feature_loader",
    "resolve_feature",
]

FeatureLike = BackendFeature | str
"""A feature, or an import string naming one (``"pkg.mod"`` or ``"pkg.mod:attr"``)."""

LoaderOutput = (
    Iterable[BackendFeature | str]
    | AsyncIterable[BackendFeature | str]
    | Awaitable[Iterable[BackendFeature | str]]
)
"""What a loader may return: a list, a (sync or async) generator, or an awaitable list."""


class BackendFeatureLoader(BackendFeature):
    """A feature that loads more features from root services at start.

    Attributes:
        description: ``feature loader created at '<file>:<line>'``.
    """

    __slots__ = ("_call", "description")

    def __init__(self, call: CallSpec, description: str) -> None:
        self._call = call
        self.description = description

    def __repr__(self) -> str:
        return f"BackendFeatureLoader({self.description})"


def create_backend_feature_loader(
    loader: Callable[[], LoaderOutput],
) -> BackendFeatureLoader:
    """Create a feature loader.

    Args:
        loader: a function whose ``inject(...)`` parameters are root services; it
            returns (or yields, sync or async) features or import strings, which
            may include further loaders.

    Raises:
        InvalidDependencyError: a parameter lacks ``inject(...)`` or is not root scoped.
    """
    frame = sys._getframe(1)
    description = f"feature loader created at '{frame.f_code.co_filename}:{frame.f_lineno}'"
    call = read_dependencies(loader, what=description)
    for dep in call.deps:
        scope = "extension point" if isinstance(dep.ref, ExtensionPoint) else dep.ref.scope
        if scope != Scope.ROOT:
            site = description.removeprefix("feature loader created at ")
            msg = (
                f"Feature loaders can only depend on root scoped services, but '{dep.name}' "
                f"is scoped to '{scope}'. Offending loader is created at {site}"
            )
            raise InvalidDependencyError(msg)
    return BackendFeatureLoader(call, description)


def _describe_value(value: object) -> str:
    """Describe a bad value the way Backstage's feature validation does."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "an array"
    if callable(value):
        return "a function"
    return f"an object ({type(value).__qualname__})"


def _import_string(spec: str, where: str) -> object:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        msg = f"Could not import '{module_name}' for {where} '{spec}': {err}"
        raise InvalidFeatureError(msg) from err
    name = attr or "default"
    try:
        value: object = module
        for part in name.split("."):
            value = getattr(value, part)
    except AttributeError:
        hint = "" if attr else " (a module added by name must define `default`)"
        msg = f"Module '{module_name}' has no attribute '{name}' for {where} '{spec}'{hint}"
        raise InvalidFeatureError(msg) from None
    return value


def resolve_feature(item: object, where: str) -> BackendFeature:
    """Turn an added item into a feature: import strings are imported.

    Args:
        item: a feature or an import string.
        where: how messages name the item, e.g. ``features[2]``.

    Raises:
        InvalidFeatureError: not a feature, or the import string cannot be resolved.
    """
    value: object = item
    if isinstance(item, str):
        value = _import_string(item, where)
        if not isinstance(value, BackendFeature) and hasattr(value, "default"):
            value = getattr(value, "default")  # noqa: B009 - a package's `default`
    if isinstance(value, BackendFeature):
        return value
    if inspect.isawaitable(value):
        msg = f"Invalid item {where}: got an awaitable; await it before adding it"
        raise InvalidFeatureError(msg)
    msg = (
        f"Invalid backend feature at {where}, expected a service factory, plugin, module, "
        f"feature loader or import string, received {_describe_value(value)}"
    )
    raise InvalidFeatureError(msg)
