"""The initializer: starts a validated wiring plan and stops it again.

Order (Backstage's): eager root services; then every plugin concurrently —
its eager plugin services, its modules in a parallel topological order, its
init, its startup hooks; root startup hooks once every plugin is done.
``stop`` runs root before-shutdown hooks, plugin shutdown hooks, root
shutdown hooks and generator-factory teardowns, also after a failed start.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import types
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, cast

from di_backend._cells import DONE, CellBase
from di_backend._core_services import core_services
from di_backend._factories import ServiceFactory, create_service_factory
from di_backend._features import BackendFeature, Registration
from di_backend._gc_pause import fewer_collections
from di_backend._refs import AnyServiceRef, ExtensionPoint, Scope
from di_backend._registry import ServiceRegistry
from di_backend._results import BackendStartupResult, ResultCollector, boot_failure_policy
from di_backend._unhandled import UnhandledErrorHandler, plugin_scope
from di_backend._wiring import PluginPlan, WiringPlan, collect_features, plan_wiring
from di_backend.errors import (
    BackendStartupError,
    BackendStateError,
    MissingDependencyError,
    describe_error,
)

if TYPE_CHECKING:
    from datetime import timedelta

    from di_backend._graph import DependencyGraph
    from di_backend.services import (
        ConfigService,
        InstalledModule,
        InstalledPlugin,
        LoggerService,
        PluginLifecycleController,
        RootLifecycleController,
    )

__all__ = ["BackendInitializer"]


def _warn_about_orphan_modules(
    plan: WiringPlan, installed: list[str], logger: LoggerService
) -> None:
    """Warn about each module whose plugin is not installed (a mistyped ``plugin_id``?)."""
    names = ", ".join(f"'{p}'" for p in installed) or "none"
    for plugin_id, entry in sorted(plan.plugins.items()):
        if entry.plugin is not None:
            continue
        for module in entry.modules:
            logger.warn(
                f"Module '{module.module_id}' for plugin '{plugin_id}' is not started: no "
                f"plugin '{plugin_id}' is installed (installed plugins: {names}); check the "
                "module's plugin_id, or add the plugin"
            )


class _State(enum.Enum):
    NEW = "new"  # features may be added
    STARTING = "starting"  # start() is running
    STARTED = "started"  # start() succeeded
    STOPPED = "stopped"  # stop() ran, or start() failed and cleaned up


def _timedelta() -> type[timedelta]:
    from datetime import timedelta  # loaded by then; kept off the import of di_backend

    return timedelta


class _InstanceMetadata:
    """``core.rootInstanceMetadata``: the installed plugins, frozen.

    Built from the registrations on the first call, not at start: most backends
    never ask, and the objects cost about 2 µs per plugin.
    """

    __slots__ = ("_plugins", "_registrations")

    def __init__(self, registrations: list[Registration]) -> None:
        self._registrations = registrations
        self._plugins: tuple[InstalledPlugin, ...] | None = None

    async def get_installed_plugins(self) -> tuple[InstalledPlugin, ...]:
        """Return the installed plugins with their modules."""
        if self._plugins is None:
            self._plugins = _installed(self._registrations)
        return self._plugins


def _installed(registrations: list[Registration]) -> tuple[InstalledPlugin, ...]:
    from di_backend.services._metadata import InstalledModule, InstalledPlugin

    modules: dict[str, list[InstalledModule]] = {}
    for r in registrations:
        if r.module_id is not None:
            modules.setdefault(r.plugin_id, []).append(InstalledModule(r.module_id))
    plugins = dict.fromkeys(r.plugin_id for r in registrations if r.module_id is None)
    return tuple(
        InstalledPlugin(plugin_id, tuple(modules.get(plugin_id, ()))) for plugin_id in plugins
    )


def _instance_metadata_factory(registrations: list[Registration]) -> ServiceFactory[object]:
    metadata = _InstanceMetadata(list(registrations))
    return create_service_factory(core_services.root_instance_metadata, lambda: metadata)


def _is_controller(service: object) -> bool:
    """Whether ``service`` has the internal lifecycle methods (cheaper than a Protocol check)."""
    return callable(getattr(service, "startup", None)) and callable(
        getattr(service, "shutdown", None)
    )


def _is_root_controller(service: object) -> bool:
    return _is_controller(service) and callable(getattr(service, "before_shutdown", None))


async def _wait_out(task: asyncio.Future[None]) -> None:
    """Wait until ``task`` is done, however often the waiter is cancelled meanwhile."""
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)


class BackendInitializer:
    """Owns the registry and the start/stop state machine of one backend."""

    def __init__(self, defaults: Sequence[ServiceFactory[object]]) -> None:
        """Create the initializer with the backend's default factories."""
        self.registry = ServiceRegistry(defaults)
        self._items: list[BackendFeature | str] = []
        self._state = _State.NEW
        self._start_task: asyncio.Future[BackendStartupResult] | None = None
        self._stop_task: asyncio.Future[None] | None = None
        self._plan: WiringPlan | None = None
        self._logger: LoggerService | None = None
        self._unhandled = UnhandledErrorHandler()
        self._eager_plugin_services: list[AnyServiceRef] = []

    def add(self, item: BackendFeature | str) -> None:
        """Queue a feature or import string; it is read at start."""
        if self._state is not _State.NEW:
            msg = "feature can not be added after the backend has started"
            raise BackendStateError(msg)
        self._items.append(item)

    # -- start ---------------------------------------------------------------

    async def start(self) -> BackendStartupResult:
        """Start the backend once; on failure, stop what started and raise."""
        if self._state in (_State.STARTING, _State.STARTED):
            msg = "Backend has already started"
            raise BackendStateError(msg)
        if self._state is _State.STOPPED or self._stop_task is not None:
            msg = "Backend has already stopped"
            raise BackendStateError(msg)
        self._state = _State.STARTING
        self._start_task = asyncio.get_running_loop().create_future()
        try:
            with fewer_collections():
                result = await self._start()
        except BaseException as err:
            self._start_task.set_exception(err)
            self._start_task.exception()  # retrieved: stop() only waits for it
            await _wait_out(self._stopping())  # clean-up survives further cancellations
            raise
        self._state = _State.STARTED
        self._start_task.set_result(result)
        return result

    async def _get(self, ref: AnyServiceRef, plugin_id: str | None) -> object:
        return await self.registry.container.get(ref, plugin_id)

    async def _start(self) -> BackendStartupResult:
        registry = self.registry
        registry.check_for_circular_deps()
        features = await collect_features(self._items, registry)
        registrations = [feature.get_registration() for feature in features]
        if not registry.has_explicit(core_services.root_instance_metadata.id):
            # The backend provides it; an explicitly added one (a test's mock) replaces it.
            # Added before the wiring is checked, so inits may depend on it.
            registry.add(_instance_metadata_factory(registrations))
        plan = plan_wiring(features, registry, registrations)
        registry.check_for_circular_deps()
        self._plan = plan
        config = await self._get(core_services.root_config, None)
        logger = await self._get(core_services.root_logger, None)
        logger = cast("LoggerService", logger)
        self._logger = logger
        self._unhandled.install(logger)
        root_lifecycle = await self._get(core_services.root_lifecycle, None)
        if not _is_root_controller(root_lifecycle):
            msg = "Unexpected root lifecycle service implementation"
            raise TypeError(msg)
        # Every ref asked for here has an installed factory: when every installed
        # factory's dependencies are installed too, missing_for would find nothing.
        problems = (
            []
            if registry.installed_deps_complete()
            else registry.missing_for(
                [
                    f._service
                    for f in registry.all_factories()
                    if f._service._scope is Scope.ROOT and f.initialization == "always"
                ],
                "root",
            )
        )
        if problems:
            raise MissingDependencyError("\n".join(problems))
        factories = registry.all_factories()
        container = registry.container
        for factory in factories:
            if factory._service._scope is Scope.ROOT and factory.initialization == "always":
                # container.get without its coroutine when the provider gives a cell
                provided = container.provide(factory._service, None)
                if not isinstance(provided, CellBase):
                    await container.value_of(provided, factory._service)
                elif provided._state != DONE:
                    await provided.get()
        self._eager_plugin_services = list(
            {
                f._service._id: f._service
                for f in factories
                if f._service._scope is Scope.PLUGIN and f.initialization == "always"
            }.values()
        )

        collector = ResultCollector(boot_failure_policy(cast("ConfigService", config)), logger)
        plugin_ids = sorted(p for p, entry in plan.plugins.items() if entry.plugin is not None)
        logger.info("Plugin initialization started: " + ", ".join(f"'{p}'" for p in plugin_ids))
        _warn_about_orphan_modules(plan, plugin_ids, logger)
        runnable = [p for p in plan.plugins.values() if p.plugin is not None]
        if len(runnable) == 1:
            await self._start_plugin(runnable[0], collector)
        else:
            await asyncio.gather(*(self._start_plugin(p, collector) for p in runnable))
        result = collector.finalize()
        if collector.failed:
            raise BackendStartupError(result)
        logger.info("Plugin initialization complete")
        await cast("RootLifecycleController", root_lifecycle).startup()
        return result

    async def _call_init(self, registration: Registration) -> None:
        """Resolve the init's dependencies, call it and await what it returns."""
        container = self.registry.container
        plugin_id = registration.plugin_id
        kwargs: dict[str, object] = {}
        init = registration.init
        for name, ref in zip(init.names, init.refs, strict=True):
            if isinstance(ref, ExtensionPoint):
                plan = self._plan
                assert plan is not None
                kwargs[name] = plan.extension_points[ref._id][1]
                continue
            # container.get without its coroutine when the provider gives a cell (the usual case)
            provided = container.provide(ref, plugin_id)
            if isinstance(provided, CellBase):
                kwargs[name] = provided._value if provided._state == DONE else await provided.get()
            else:
                kwargs[name] = await container.value_of(provided, ref)
        result = init.func(**kwargs)
        if type(result) is types.CoroutineType or inspect.isawaitable(result):
            await cast("Awaitable[object]", result)

    async def _start_modules(
        self, order: DependencyGraph[Registration], collector: ResultCollector
    ) -> None:
        async def init_module(module: Registration) -> None:
            assert module.module_id is not None
            try:
                await self._call_init(module)
            except Exception as err:
                collector.module_result(module.plugin_id, module.module_id, err)
            else:
                collector.module_result(module.plugin_id, module.module_id)

        await order.parallel_topological_traversal(init_module)

    async def _start_plugin(self, plan: PluginPlan, collector: ResultCollector) -> None:
        with plugin_scope(plan.plugin_id):  # tasks the plugin creates are its own
            plugin_id = plan.plugin_id
            for module_id, error in plan.module_failures.items():
                collector.module_result(plugin_id, module_id, error)
            if plan.plugin_failure is not None:
                collector.plugin_result(plugin_id, plan.plugin_failure)
                return
            assert plan.plugin is not None
            try:
                for ref in self._eager_plugin_services:
                    await self._get(ref, plugin_id)
                order, plan.module_order = plan.module_order, None  # not needed once run
                if order is not None:
                    await self._start_modules(order, collector)
                await self._call_init(plan.plugin)
            except Exception as err:
                collector.plugin_result(plugin_id, err)
                return
            collector.plugin_result(plugin_id)
            lifecycle = self.registry.container.peek(core_services.lifecycle, plugin_id)
            if lifecycle is not None:
                if not _is_controller(lifecycle):
                    msg = "Unexpected plugin lifecycle service implementation"
                    raise TypeError(msg)
                await cast("PluginLifecycleController", lifecycle).startup()

    # -- stop ------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop once; later calls wait for the first one. Safe before start.

        The stop runs in a task of its own: cancelling ``stop()`` cancels the wait,
        not the stop, and the next ``stop()`` returns only once everything stopped.
        """
        await asyncio.shield(self._stopping())

    def _stopping(self) -> asyncio.Future[None]:
        """The stop in progress, or a new one if none ran or the last one failed."""
        task = self._stop_task
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = self._stop_task = asyncio.ensure_future(self._stop())
        return task

    async def _stop(self) -> None:
        if self._start_task is not None and not self._start_task.done():
            await asyncio.wait([self._start_task])  # a failing start joins this stop
        if self._state in (_State.STARTING, _State.STARTED):
            await self._shutdown()
        self._state = _State.STOPPED

    async def _shutdown(self) -> None:
        container = self.registry.container
        logger = self._logger
        root_lifecycle = container.peek(core_services.root_lifecycle, None)
        if _is_root_controller(root_lifecycle):
            await cast("RootLifecycleController", root_lifecycle).before_shutdown()
        plan = self._plan
        lifecycles = [
            container.peek(core_services.lifecycle, plugin_id)
            for plugin_id, p in (plan.plugins.items() if plan else ())
            if p.plugin is not None
        ]
        await asyncio.gather(
            *(
                cast("PluginLifecycleController", lc).shutdown()
                for lc in lifecycles
                if lc is not None and _is_controller(lc)
            )
        )
        if _is_root_controller(root_lifecycle):
            await cast("RootLifecycleController", root_lifecycle).shutdown()
        limit = getattr(root_lifecycle, "shutdown_timeout", None)
        timeout = limit.total_seconds() if isinstance(limit, _timedelta()) else None
        for service_id, error in await container.teardowns.close_all(timeout):
            if logger is not None:
                logger.error(
                    f"Teardown of service '{service_id}' failed, {describe_error(error)}", error
                )
        self._unhandled.remove()
        container.reset_overrides()
