"""Feature loaders that read root config: ``backend.features`` and installed distributions.

* :data:`config_feature_loader` adds every import string listed in
  ``backend.features``.
* :data:`discovery_feature_loader` adds the entry points in group
  ``di_backend.features`` of installed distributions, as selected by
  ``backend.packages`` (Backstage's ``discoveryFeatureLoader``): unset means none,
  ``all`` means every distribution, ``{include: [...], exclude: [...]}`` filters by
  distribution name.

The helpers return :class:`FeatureOrigin` records so ``di-backend graph`` can say
where each feature came from without starting anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType

from di_backend._core_services import core_services
from di_backend._features import BackendFeature
from di_backend._inject import inject
from di_backend._loaders import _describe_value, create_backend_feature_loader, resolve_feature
from di_backend.errors import ConfigError, InvalidFeatureError, describe_error
from di_backend.services import ConfigService, RootConfigService

__all__ = [
    "ENTRY_POINT_GROUP",
    "FeatureOrigin",
    "config_feature_loader",
    "discovery_feature_loader",
    "features_from_config",
    "features_from_packages",
    "normalize_distribution_name",
]

ENTRY_POINT_GROUP = "di_backend.features"
"""The entry point group that distributions use to offer backend features."""

_FEATURE_KINDS = "a plugin, module, service factory or feature loader"


@dataclass(frozen=True, slots=True)
class FeatureOrigin:
    """A feature and where it was found.

    Attributes:
        feature: the plugin, module, service factory or feature loader.
        origin: e.g. ``backend.features[0] 'todo_backend'`` or
            ``entry point 'todo' of distribution 'todo-backend'``.
    """

    feature: BackendFeature
    origin: str


def normalize_distribution_name(name: str) -> str:
    """Normalise a distribution name (PEP 503): lower case, runs of ``-_.`` become ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def features_from_config(config: ConfigService) -> list[FeatureOrigin]:
    """Import every feature listed in ``backend.features``.

    Args:
        config: the root configuration.

    Returns:
        The features in listed order.

    Raises:
        ConfigError: ``backend.features`` is not a list of strings.
        InvalidFeatureError: an entry cannot be imported or is not a feature.
    """
    specs = config.get_optional_string_array("backend.features") or []
    found: list[FeatureOrigin] = []
    for index, spec in enumerate(specs):
        where = f"backend.features[{index}]"
        try:
            feature = resolve_feature(spec, where)
        except InvalidFeatureError:
            raise
        except Exception as err:  # the imported module raised while loading
            msg = f"Could not import {where} '{spec}'; caused by {describe_error(err)}"
            raise InvalidFeatureError(msg) from err
        found.append(FeatureOrigin(feature, f"{where} '{spec}'"))
    return found


@dataclass(frozen=True, slots=True)
class _Selection:
    """What ``backend.packages`` selects: ``None`` for include means every distribution."""

    include: frozenset[str] | None
    exclude: frozenset[str]


def _read_selection(config: ConfigService) -> _Selection | None:
    """Read ``backend.packages``; ``None`` when nothing is to be discovered."""
    value = config.get_optional("backend.packages")
    if value is None:
        return None
    if value == "all":
        return _Selection(None, frozenset())
    if not isinstance(value, dict) or not set(value) <= {"include", "exclude"}:
        msg = (
            f"Invalid config at backend.packages, expected 'all' or an object with 'include' "
            f"and/or 'exclude' lists of distribution names, got {value!r}"
        )
        raise ConfigError(msg)
    if not value:
        return None  # an empty object selects nothing, as in Backstage
    include = config.get_optional_string_array("backend.packages.include")
    exclude = config.get_optional_string_array("backend.packages.exclude") or []
    return _Selection(
        None if include is None else frozenset(map(normalize_distribution_name, include)),
        frozenset(map(normalize_distribution_name, exclude)),
    )


def _load_entry_point(entry_point: metadata.EntryPoint, distribution: str) -> BackendFeature:
    where = (
        f"entry point '{entry_point.name} = {entry_point.value}' of distribution "
        f"'{distribution}' (group '{ENTRY_POINT_GROUP}')"
    )
    try:
        value: object = entry_point.load()
    except Exception as err:
        msg = f"Could not load {where}; caused by {describe_error(err)}"
        raise InvalidFeatureError(msg) from err
    if isinstance(value, ModuleType) and hasattr(value, "default"):
        value = getattr(value, "default")  # noqa: B009 - a module's `default` feature
    if not isinstance(value, BackendFeature):
        msg = f"The {where} must name {_FEATURE_KINDS}, received {_describe_value(value)}"
        raise InvalidFeatureError(msg)
    return value


def features_from_packages(config: ConfigService) -> list[FeatureOrigin]:
    """Load the ``di_backend.features`` entry points that ``backend.packages`` selects.

    Distributions are visited in name order, their entry points in name order.

    Args:
        config: the root configuration.

    Returns:
        The features found; empty when ``backend.packages`` is unset.

    Raises:
        ConfigError: ``backend.packages`` is malformed, or ``include`` names a
            distribution that offers no entry point in the group.
        InvalidFeatureError: an entry point cannot be loaded or is not a feature.
    """
    selection = _read_selection(config)
    if selection is None:
        return []
    offered: dict[str, list[metadata.EntryPoint]] = {}
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        name = dist.name if dist is not None and dist.name else entry_point.module
        offered.setdefault(name, []).append(entry_point)
    by_key = {normalize_distribution_name(name): name for name in offered}
    if selection.include is not None:
        unknown = sorted(selection.include - by_key.keys())
        if unknown:
            names = ", ".join(f"'{name}'" for name in unknown)
            msg = (
                f"Invalid config at backend.packages.include: {names} offer no "
                f"'{ENTRY_POINT_GROUP}' entry points; install the distribution or remove it "
                "from the list"
            )
            raise ConfigError(msg)
    found: list[FeatureOrigin] = []
    for key in sorted(by_key):
        if key in selection.exclude or (
            selection.include is not None and key not in selection.include
        ):
            continue
        name = by_key[key]
        for entry_point in sorted(offered[name], key=lambda ep: ep.name):
            origin = f"entry point '{entry_point.name}' of distribution '{name}'"
            found.append(FeatureOrigin(_load_entry_point(entry_point, name), origin))
    return found


def _load_configured(
    config: RootConfigService = inject(core_services.root_config),
) -> list[BackendFeature]:
    return [found.feature for found in features_from_config(config)]


def _discover(
    config: RootConfigService = inject(core_services.root_config),
) -> list[BackendFeature]:
    return [found.feature for found in features_from_packages(config)]


config_feature_loader = create_backend_feature_loader(_load_configured)
"""Adds the features listed in ``backend.features`` (import strings)."""

discovery_feature_loader = create_backend_feature_loader(_discover)
"""Adds the ``di_backend.features`` entry points selected by ``backend.packages``."""
