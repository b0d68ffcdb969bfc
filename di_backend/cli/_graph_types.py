"""The data of ``di-backend graph``: plugins, their inits and dependencies, extension points.

:func:`~di_backend.cli._graph_model.build_wiring` builds a :class:`WiringGraph`;
:mod:`~di_backend.cli._graph_render` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from di_backend.cli._graph_services import ServiceInfo

__all__ = ["DepInfo", "ExtensionPointInfo", "InitInfo", "PluginInfo", "WiringGraph"]


@dataclass(frozen=True, slots=True)
class DepInfo:
    """One ``inject(...)`` parameter of an init.

    Attributes:
        name: the parameter name.
        ref: the ref as printed, e.g. ``serviceRef{core.logger}``.
        ref_id: the ref id.
        kind: ``service`` or ``extension point``.
        provider: who provides it, e.g. ``root scope, default factory`` or
            ``registered by plugin 'todo'``.
    """

    name: str
    ref: str
    ref_id: str
    kind: Literal["service", "extension point"]
    provider: str


@dataclass(frozen=True, slots=True)
class InitInfo:
    """A plugin's or module's init, where it came from and when it runs.

    Attributes:
        plugin_id: the plugin id.
        module_id: the module id, ``None`` for the plugin itself.
        function: the init function as ``module.qualname``.
        origin: where the feature was found (config key or entry point).
        step: 1-based position in the plugin's order; modules with equal steps
            start together, the plugin's init comes last. ``None`` when it cannot run.
        deps: the init's dependencies.
        extension_points: the ids of the extension points it registers.
        problem: why it will fail to start, if a wiring check says so.
    """

    plugin_id: str
    module_id: str | None
    function: str
    origin: str
    step: int | None
    deps: tuple[DepInfo, ...]
    extension_points: tuple[str, ...]
    problem: str | None

    def describe(self) -> str:
        """Name it as messages do: ``plugin 'todo'`` or ``module 'github' for plugin 'todo'``."""
        if self.module_id is None:
            return f"plugin '{self.plugin_id}'"
        return f"module '{self.module_id}' for plugin '{self.plugin_id}'"


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """A plugin with its modules in initialisation order.

    Attributes:
        plugin_id: the plugin id.
        plugin: its init, ``None`` when only modules of it are installed.
        modules: its modules, in initialisation order (failing ones last).
        problem: why the plugin will fail to start, if a wiring check says so.
    """

    plugin_id: str
    plugin: InitInfo | None
    modules: tuple[InitInfo, ...]
    problem: str | None


@dataclass(frozen=True, slots=True)
class ExtensionPointInfo:
    """An extension point and the inits it connects.

    Attributes:
        id: the extension point id.
        registered_by: the plugin or module that registers it (``describe()`` form).
        used_by: the modules whose init depends on it (``describe()`` form).
    """

    id: str
    registered_by: str
    used_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WiringGraph:
    """The whole wiring, plugins sorted by id.

    Attributes:
        plugins: every plugin id that a plugin or module names.
        extension_points: every registered extension point, sorted by id.
        unexpanded_loaders: feature loaders that need services a graph cannot provide.
        config_sources: the files the configuration was read from.
        services: every service the inits need, directly or not, with what it needs.
    """

    plugins: tuple[PluginInfo, ...]
    extension_points: tuple[ExtensionPointInfo, ...]
    unexpanded_loaders: tuple[str, ...]
    config_sources: tuple[str, ...]
    services: tuple[ServiceInfo, ...] = ()

    @property
    def problems(self) -> list[str]:
        """Every wiring problem as ``<plugin or module>: <message>``."""
        found: list[str] = []
        for plugin in self.plugins:
            if plugin.problem is not None:
                found.append(f"plugin '{plugin.plugin_id}': {plugin.problem}")
            found.extend(
                f"{module.describe()}: {module.problem}"
                for module in plugin.modules
                if module.problem is not None
            )
        return found
