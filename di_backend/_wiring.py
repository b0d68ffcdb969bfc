"""Reading features before start: dispatching them, running loaders, validating wiring.

Everything here runs before any plugin or module init, so a wiring mistake
is reported with nothing started. The initializer
(:mod:`di_backend._initializer`) then only has to run what was validated.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Iterable
from typing import cast

from di_backend._factories import ServiceFactory
from di_backend._features import BackendFeature, BackendModule, BackendPlugin, Registration
from di_backend._graph import DependencyGraph
from di_backend._loaders import BackendFeatureLoader, resolve_feature
from di_backend._refs import AnyServiceRef, ExtensionPoint
from di_backend._registry import ServiceRegistry
from di_backend.errors import (
    CircularDependencyError,
    ConflictError,
    ForwardedError,
    InvalidDependencyError,
    InvalidFeatureError,
    MissingDependencyError,
)

__all__ = ["PluginPlan", "WiringPlan", "collect_features", "plan_wiring"]


class PluginPlan:
    """What the initializer runs for one plugin, with failures found up front.

    A plain class rather than a dataclass: thousands are made per start, and a
    dataclass costs its import time for nothing used here (no equality, no repr).
    ``module_order`` is the graph the plugin's modules start in; the initializer
    drops it once it has run them (``di-backend graph`` reads it from its own plan).
    """

    __slots__ = (
        "module_failures",
        "module_order",
        "modules",
        "plugin",
        "plugin_failure",
        "plugin_id",
    )

    def __init__(self, plugin_id: str) -> None:
        """Start the plan of ``plugin_id``: no plugin, no modules, no failures yet."""
        self.plugin_id = plugin_id
        self.plugin: Registration | None = None
        self.modules: list[Registration] = []
        self.plugin_failure: BaseException | None = None
        self.module_failures: dict[str, BaseException] = {}
        self.module_order: DependencyGraph[Registration] | None = None


class WiringPlan:
    """Every plugin's plan plus the extension points by id."""

    __slots__ = ("extension_points", "plugins", "registrations")

    def __init__(
        self,
        plugins: dict[str, PluginPlan],
        extension_points: dict[str, tuple[str, object]],
        registrations: list[Registration],
    ) -> None:
        """Hold the plans, the extension points (id -> owner, value) and the registrations."""
        self.plugins = plugins
        self.extension_points = extension_points
        self.registrations = registrations


_PLAIN_FEATURES = frozenset((BackendPlugin, BackendModule, ServiceFactory))


def _add_factory(
    registry: ServiceRegistry, factory: ServiceFactory[object], loader: str | None
) -> None:
    if loader is None:
        registry.add(factory)
    else:
        registry.add_from_loader(factory, loader)


async def _loader_items(loader: BackendFeatureLoader, output: object) -> list[object]:
    if inspect.isawaitable(output):
        output = await output
    if isinstance(output, AsyncIterable):
        return [item async for item in output]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(output, Iterable) and not isinstance(output, str | bytes):
        return list(output)  # pyright: ignore[reportUnknownArgumentType]
    msg = (
        f"Invalid backend feature at {loader.description} -> loader output, expected an "
        f"array of backend features, received {output!r}"
    )
    raise InvalidFeatureError(msg)


async def collect_features(
    items: list[BackendFeature | str], registry: ServiceRegistry
) -> list[BackendPlugin | BackendModule]:
    """Dispatch added features, run feature loaders recursively; return plugins and modules.

    Raises:
        InvalidFeatureError: an item is not a feature.
        ForwardedError: a feature loader raised.
        ConflictError: duplicate service factories.
    """
    registrations: list[BackendPlugin | BackendModule] = []
    loaders: list[BackendFeatureLoader] = []

    def dispatch(feature: BackendFeature, loader: str | None) -> None:
        kind = type(feature)
        if kind is BackendPlugin or kind is BackendModule:  # the usual case, checked first
            registrations.append(cast("BackendPlugin | BackendModule", feature))
        elif isinstance(feature, ServiceFactory):
            _add_factory(registry, feature, loader)  # pyright: ignore[reportUnknownArgumentType]
        elif isinstance(feature, BackendFeatureLoader):
            loaders.append(feature)
        elif isinstance(feature, (BackendPlugin, BackendModule)):
            registrations.append(feature)
        else:
            msg = f"Invalid backend feature {feature!r}"
            raise InvalidFeatureError(msg)

    for position, added in enumerate(items):
        if type(added) in _PLAIN_FEATURES:  # no import string to resolve, no message to name
            dispatch(cast("BackendFeature", added), None)
        else:
            dispatch(resolve_feature(added, f"features[{position}]"), None)
    while loaders:
        loader = loaders.pop(0)
        missing = [d.ref for d in loader._call.deps if not registry.is_available(d.ref)]  # type: ignore[arg-type]
        if missing:
            refs = ", ".join(str(ref) for ref in missing)
            msg = (
                f"No service available for the following ref(s): {refs}, depended on by "
                f"{loader.description}"
            )
            raise MissingDependencyError(msg, tuple(ref.id for ref in missing))
        kwargs = {
            dep.name: await registry.container.get(dep.ref, None)  # type: ignore[arg-type]
            for dep in loader._call.deps
        }
        try:
            output: list[object] = await _loader_items(loader, loader._call.func(**kwargs))
        except InvalidFeatureError:
            raise
        except Exception as err:
            raise ForwardedError(
                f"{loader.description[0].upper()}{loader.description[1:]} failed", err
            ) from err
        for index, item in enumerate(output):
            try:
                feature = resolve_feature(item, f"{loader.description} -> loader output[{index}]")
            except InvalidFeatureError as err:
                msg = f'Invalid item "{item!r}" returned by {loader.description}: {err}'
                raise InvalidFeatureError(msg) from err
            dispatch(feature, loader.description)
        registry.check_for_circular_deps()
    return registrations


def _missing_refs(
    registration: Registration,
    registry: ServiceRegistry,
    extension_points: dict[str, tuple[str, object]],
) -> list[str]:
    missing: list[str] = []
    for ref in registration.init.refs:
        if isinstance(ref, ExtensionPoint):
            if ref._id not in extension_points:
                missing.append(str(ref))
        elif not registry.is_available(ref):
            missing.append(str(ref))
    return list(dict.fromkeys(missing))  # a ref injected twice is listed once


def _all_wired(
    registration: Registration,
    registry: ServiceRegistry,
    extension_points: dict[str, tuple[str, object]],
) -> bool:
    """Whether the checks below would find nothing, the quick way; ``False`` means ask them.

    True when every extension point the init injects is registered by its own plugin
    and :meth:`ServiceRegistry.all_installed` holds for the services.
    """
    services: list[AnyServiceRef] = []
    for ref in registration.init.refs:
        if isinstance(ref, ExtensionPoint):
            owner = extension_points.get(ref._id)
            if owner is None or owner[0] != registration.plugin_id:
                return False
        else:
            services.append(ref)
    return registry.all_installed(services)


def _check_registration(
    registration: Registration,
    registry: ServiceRegistry,
    extension_points: dict[str, tuple[str, object]],
) -> BaseException | None:
    """The first wiring problem of one plugin or module init, or ``None``."""
    if _all_wired(registration, registry, extension_points):
        return None  # the common case: installed services and the plugin's own extension points
    return _find_problem(registration, registry, extension_points)


def _find_problem(
    registration: Registration,
    registry: ServiceRegistry,
    extension_points: dict[str, tuple[str, object]],
) -> BaseException | None:
    """The long way of :func:`_check_registration`, which names every problem."""
    missing = _missing_refs(registration, registry, extension_points)
    if missing:
        msg = (
            f"Service or extension point dependencies of {registration.describe()} are missing "
            f"for the following ref(s): {', '.join(missing)}"
        )
        return MissingDependencyError(msg, tuple(missing))
    for ref in registration.init.refs:
        if isinstance(ref, ExtensionPoint):
            owner = extension_points[ref._id][0]
            if owner != registration.plugin_id:
                msg = (
                    f"Illegal dependency: Module '{registration.module_id}' for plugin "
                    f"'{registration.plugin_id}' attempted to depend on extension point "
                    f"'{ref._id}' for plugin '{owner}'. Extension points can only be used "
                    "within their plugin's scope."
                )
                return InvalidDependencyError(msg)
    services = [ref for ref in registration.init.refs if not isinstance(ref, ExtensionPoint)]
    problems = registry.missing_for(services, registration.plugin_id)
    if problems:
        return MissingDependencyError("\n".join(problems))
    return None


def _module_graph(plan: PluginPlan) -> DependencyGraph[Registration] | BaseException | None:
    if not plan.modules:
        return None
    # Reversed edges: a module providing extension point X "consumes" X and the
    # modules depending on X "provide" it, so the provider waits for every consumer.
    nodes: list[tuple[Registration, list[str], list[str]]] = []
    for module in plan.modules:
        if module.module_id in plan.module_failures:
            continue
        # only extension point ids order modules: a service id that happens to equal one
        # must not
        used = [ref._id for ref in module.init.refs if isinstance(ref, ExtensionPoint)]
        nodes.append((module, [ref._id for ref, _ in module.extension_points], used))
    graph = DependencyGraph(nodes)
    cycle = graph.detect_circular_dependency()
    if cycle is None:
        return graph
    path = " -> ".join(f"'{module.module_id}'" for module in cycle)
    msg = f"Circular dependency detected for modules of plugin '{plan.plugin_id}', {path}"
    return CircularDependencyError(msg, (tuple(str(m.module_id) for m in cycle),))


def plan_wiring(
    features: list[BackendPlugin | BackendModule],
    registry: ServiceRegistry,
    registrations: list[Registration] | None = None,
) -> WiringPlan:
    """Read every registration and validate the wiring, collecting failures per plugin/module.

    ``register`` errors propagate. Duplicate plugins, modules and extension
    points, missing dependencies, foreign extension points and module cycles
    become plugin or module failures, found before anything starts.
    """
    if registrations is None:
        registrations = [feature.get_registration() for feature in features]
    plans: dict[str, PluginPlan] = {}
    extension_points: dict[str, tuple[str, object]] = {}
    for registration in registrations:
        plan = plans.get(registration.plugin_id)
        if plan is None:
            plan = plans[registration.plugin_id] = PluginPlan(registration.plugin_id)
        try:
            _enumerate(registration, plan, extension_points)
        except ConflictError as err:
            if registration.module_id is not None:
                plan.module_failures.setdefault(registration.module_id, err)
            else:
                plan.plugin_failure = plan.plugin_failure or err
                # keep the plugin in the plan so its failure is reported (it never runs)
                plan.plugin = plan.plugin or registration
    for plan in plans.values():
        _check_plan(plan, registry, extension_points)
        order = _module_graph(plan)
        if isinstance(order, DependencyGraph):
            plan.module_order = order
        elif order is not None:
            plan.plugin_failure = plan.plugin_failure or order
    return WiringPlan(plans, extension_points, registrations)


def _check_plan(
    plan: PluginPlan, registry: ServiceRegistry, extension_points: dict[str, tuple[str, object]]
) -> None:
    for registration in [*plan.modules, *([plan.plugin] if plan.plugin else [])]:
        if registration.module_id in plan.module_failures:
            continue
        try:
            problem = _check_registration(registration, registry, extension_points)
        except Exception as err:  # e.g. a ref's default factory loader raised
            problem = err
        if problem is None:
            continue
        if registration.module_id is None:
            plan.plugin_failure = plan.plugin_failure or problem
        else:
            plan.module_failures[registration.module_id] = problem


def _enumerate(
    registration: Registration, plan: PluginPlan, extension_points: dict[str, tuple[str, object]]
) -> None:
    if registration.module_id is None and plan.plugin is not None:
        msg = f"Plugin '{registration.plugin_id}' is already registered"
        raise ConflictError(msg)
    if registration.module_id is not None and any(
        m.module_id == registration.module_id for m in plan.modules
    ):
        msg = (
            f"Module '{registration.module_id}' for plugin '{registration.plugin_id}' "
            "is already registered"
        )
        raise ConflictError(msg)
    added: list[str] = []
    for ref, impl in registration.extension_points:
        if ref._id in extension_points:
            for ref_id in added:  # roll back this registration's extension points
                del extension_points[ref_id]
            msg = f"ExtensionPoint with ID '{ref.id}' is already registered"
            raise ConflictError(msg)
        extension_points[ref._id] = (registration.plugin_id, impl)
        added.append(ref._id)
    if registration.module_id is None:
        plan.plugin = registration
    else:
        plan.modules.append(registration)
