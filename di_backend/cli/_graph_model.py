"""The wiring of a backend, read from configuration without starting anything.

:func:`build_wiring` reads the features that ``di-backend start`` would add,
runs their ``register`` callbacks and plans the wiring with the initializer's own
planner (:func:`di_backend._wiring.plan_wiring`), so module order and problems are
exactly what a start would see. No service factory and no ``init`` runs. Feature
loaders that need only ``root_config`` (and ``root_logger``) are expanded; others
are listed as not expanded.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Sequence

from di_backend._core_services import core_services
from di_backend._factories import ServiceFactory
from di_backend._feature_loaders import (
    FeatureOrigin,
    config_feature_loader,
    discovery_feature_loader,
    features_from_config,
    features_from_packages,
)
from di_backend._features import BackendFeature, BackendModule, BackendPlugin, Registration
from di_backend._initializer import _instance_metadata_factory
from di_backend._loaders import BackendFeatureLoader, resolve_feature
from di_backend._refs import AnyServiceRef, ExtensionPoint
from di_backend._registry import ServiceRegistry
from di_backend._wiring import PluginPlan, _loader_items, plan_wiring
from di_backend.cli._graph_services import collect_services
from di_backend.cli._graph_types import (
    DepInfo,
    ExtensionPointInfo,
    InitInfo,
    PluginInfo,
    WiringGraph,
)
from di_backend.defaults._factories import config_secrets
from di_backend.defaults._logging import DefaultRootLogger
from di_backend.errors import (
    ForwardedError,
    InvalidFeatureError,
    RegistrationError,
    describe_error,
)
from di_backend.services import ConfigService

__all__ = ["build_wiring"]

_LOADER_SERVICES = frozenset({core_services.root_config.id, core_services.root_logger.id})
_BACKEND_SERVICES = frozenset({"core.pluginMetadata", core_services.root_instance_metadata.id})


class _Collector:
    """Dispatches features like the backend does, without running any service."""

    def __init__(self, config: ConfigService, defaults: Sequence[ServiceFactory[object]]) -> None:
        self.config = config
        self.registry = ServiceRegistry(defaults)
        self.sources = {f.service.id: "default factory" for f in defaults}
        self.features: list[tuple[BackendPlugin | BackendModule, str]] = []
        self.loaders: deque[tuple[BackendFeatureLoader, str]] = deque()
        self.unexpanded: list[str] = []
        # What loaders log while the graph expands them goes to stderr, warnings and up.
        self.logger = DefaultRootLogger.create(
            stream=sys.stderr, format="pretty", level="warn", redactions=config_secrets(config)
        )

    def dispatch(self, feature: BackendFeature, origin: str, loader: str) -> None:
        if isinstance(feature, ServiceFactory):
            factory: ServiceFactory[object] = feature  # pyright: ignore[reportUnknownVariableType]
            if self.registry.add_from_loader(factory, loader):
                self.sources[factory.service.id] = f"factory from {origin}"
        elif isinstance(feature, BackendFeatureLoader):
            self.loaders.append((feature, origin))
        elif isinstance(feature, BackendPlugin | BackendModule):
            self.features.append((feature, origin))

    async def expand(self) -> None:
        while self.loaders:
            loader, origin = self.loaders.popleft()
            others = [str(d.ref) for d in loader._call.deps if d.ref.id not in _LOADER_SERVICES]
            if others:
                self.unexpanded.append(
                    f"{loader.description} (from {origin}) needs {', '.join(others)}"
                )
                continue
            kwargs = {
                d.name: self.config if d.ref.id == core_services.root_config.id else self.logger
                for d in loader._call.deps
            }
            try:
                items = await _loader_items(loader, loader._call.func(**kwargs))
            except InvalidFeatureError:
                raise
            except Exception as err:
                msg = f"{loader.description[0].upper()}{loader.description[1:]} failed"
                raise ForwardedError(msg, err) from err
            for index, item in enumerate(items):
                where = f"{loader.description} -> loader output[{index}]"
                self.dispatch(resolve_feature(item, where), where, loader.description)


def _service_provider(collector: _Collector, dep_ref: AnyServiceRef) -> str:
    ref_id = dep_ref.id
    scope = f"{dep_ref.scope} scope"
    if ref_id in _BACKEND_SERVICES:
        return f"{scope}, provided by the backend"
    source = collector.sources.get(ref_id)
    if source is not None:
        return f"{scope}, {source}"
    if dep_ref.multiton:
        return f"{scope}, multiton with no factories (receives [])"
    if dep_ref.default_factory is not None:
        return f"{scope}, the ref's default_factory"
    return f"{scope}, MISSING: no factory installed"


def _init_info(
    collector: _Collector,
    registration: Registration,
    *,
    origin: str,
    step: int | None,
    registrants: dict[str, Registration],
    problem: BaseException | None,
) -> InitInfo:
    deps: list[DepInfo] = []
    for dep in registration.init.deps:
        if isinstance(dep.ref, ExtensionPoint):
            owner = registrants.get(dep.ref.id)
            provider = f"registered by {owner.describe()}" if owner else "MISSING: not registered"
            deps.append(DepInfo(dep.name, str(dep.ref), dep.ref.id, "extension point", provider))
        else:
            provider = _service_provider(collector, dep.ref)
            deps.append(DepInfo(dep.name, str(dep.ref), dep.ref.id, "service", provider))
    return InitInfo(
        plugin_id=registration.plugin_id,
        module_id=registration.module_id,
        function=registration.init.description,
        origin=origin,
        step=step,
        deps=tuple(deps),
        extension_points=tuple(ref.id for ref, _ in registration.extension_points),
        problem=None if problem is None else describe_error(problem),
    )


def _module_steps(plan: PluginPlan) -> list[tuple[Registration, int]]:
    """The modules in the initializer's order, with the step each starts in."""
    if plan.module_order is None:
        return []
    steps: dict[int, int] = {}
    ordered = plan.module_order.topological_order()
    for module in ordered:
        provided = {ref.id for ref, _ in module.extension_points}
        # A module that provides extension point X waits for every module consuming X.
        waits = [
            steps[id(other)]
            for other in ordered
            if other is not module
            and id(other) in steps
            and provided & {dep.ref.id for dep in other.init.deps}
        ]
        steps[id(module)] = 1 + max(waits, default=0)
    return [(module, steps[id(module)]) for module in ordered]


async def build_wiring(
    config: ConfigService,
    *,
    defaults: Sequence[ServiceFactory[object]],
    config_sources: Sequence[str] = (),
) -> WiringGraph:
    """Read the wiring that ``di-backend start`` would run, without running it.

    Args:
        config: the root configuration (``backend.features``, ``backend.packages``).
        defaults: the backend's default service factories.
        config_sources: the files ``config`` was read from, for display.

    Raises:
        ConfigError: ``backend.features`` or ``backend.packages`` is malformed.
        InvalidFeatureError: a listed feature cannot be imported.
        ForwardedError: a feature loader raised.
    """
    collector = _Collector(config, defaults)
    found: list[tuple[FeatureOrigin, str]] = [
        *((f, config_feature_loader.description) for f in features_from_config(config)),
        *((f, discovery_feature_loader.description) for f in features_from_packages(config)),
    ]
    for origin, loader in found:
        collector.dispatch(origin.feature, origin.origin, loader)
    await collector.expand()
    # A feature whose register callback is refused (a plugin init injecting an
    # extension point, say) fails as that plugin, as it would at start; the rest of
    # the wiring is still read.
    refused: list[tuple[BackendPlugin | BackendModule, str, RegistrationError]] = []
    readable: list[tuple[BackendPlugin | BackendModule, str]] = []
    for feature, where in collector.features:
        try:
            feature.get_registration()
        except RegistrationError as error:
            refused.append((feature, where, error))
        else:
            readable.append((feature, where))
    collector.features = readable
    features = [feature for feature, _ in readable]
    registrations = [feature.get_registration() for feature in features]
    registry = collector.registry
    if not registry.has_explicit(core_services.root_instance_metadata.id):
        # As BackendInitializer._start does: provided before the wiring is checked.
        registry.add(_instance_metadata_factory(registrations))
    registry.check_for_circular_deps()
    plan = plan_wiring(features, registry, registrations)
    origins = {
        id(registration): origin
        for registration, (_, origin) in zip(plan.registrations, collector.features, strict=True)
    }
    registrants: dict[str, Registration] = {}
    for registration in plan.registrations:
        for ref, _ in registration.extension_points:
            registrants.setdefault(ref.id, registration)
    plugins: list[PluginInfo] = []
    for plugin_id in sorted(plan.plugins):
        plugins.append(_plugin_info(collector, plan.plugins[plugin_id], origins, registrants))
    plugins = _with_refused(plugins, refused)
    points = [
        ExtensionPointInfo(
            ep_id,
            registrant.describe(),
            tuple(
                r.describe()
                for r in plan.registrations
                if any(d.ref.id == ep_id for d in r.init.deps if isinstance(d.ref, ExtensionPoint))
            ),
        )
        for ep_id, registrant in sorted(registrants.items())
    ]
    services = collect_services(
        registry,
        (dep.ref for registration in plan.registrations for dep in registration.init.deps),
        lambda ref: _service_provider(collector, ref),
    )
    return WiringGraph(
        tuple(plugins),
        tuple(points),
        tuple(collector.unexpanded),
        tuple(config_sources),
        services,
    )


def _with_refused(
    plugins: list[PluginInfo],
    refused: Sequence[tuple[BackendPlugin | BackendModule, str, RegistrationError]],
) -> list[PluginInfo]:
    """Add the features whose registration was refused, as failing inits."""
    by_id = {plugin.plugin_id: plugin for plugin in plugins}
    for feature, origin, error in refused:
        module_id = feature.module_id if isinstance(feature, BackendModule) else None
        problem = describe_error(error)
        failing = InitInfo(
            feature.plugin_id,
            module_id,
            "(its register callback was refused)",
            origin,
            None,
            (),
            (),
            None if module_id is None else problem,  # a plugin's shows once, as the plugin's
        )
        current = by_id.get(feature.plugin_id)
        if module_id is None:
            modules = () if current is None else current.modules
            by_id[feature.plugin_id] = PluginInfo(feature.plugin_id, failing, modules, problem)
        elif current is None:
            by_id[feature.plugin_id] = PluginInfo(feature.plugin_id, None, (failing,), None)
        else:
            by_id[feature.plugin_id] = PluginInfo(
                current.plugin_id, current.plugin, (*current.modules, failing), current.problem
            )
    return [by_id[plugin_id] for plugin_id in sorted(by_id)]


def _plugin_info(
    collector: _Collector,
    plan: PluginPlan,
    origins: dict[int, str],
    registrants: dict[str, Registration],
) -> PluginInfo:
    runnable = plan.plugin is not None and plan.plugin_failure is None

    def info(registration: Registration, step: int | None, error: BaseException | None) -> InitInfo:
        return _init_info(
            collector,
            registration,
            origin=origins[id(registration)],
            step=step if runnable else None,
            registrants=registrants,
            problem=error,
        )

    ordered = _module_steps(plan)
    modules = [info(module, step, None) for module, step in ordered]
    modules += [
        info(module, None, plan.module_failures[module.module_id])
        for module in plan.modules
        if module.module_id in plan.module_failures
    ]
    plugin = None
    if plan.plugin is not None:
        plugin = info(plan.plugin, 1 + max((step for _, step in ordered), default=0), None)
    problem = None if plan.plugin_failure is None else describe_error(plan.plugin_failure)
    return PluginInfo(plan.plugin_id, plugin, tuple(modules), problem)
