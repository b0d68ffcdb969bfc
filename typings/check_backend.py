"""Pins the backend: ``Backend.add``, ``start()`` → ``BackendStartupResult``, ``core_services``.

Also pins that a ref is not a feature (``backend.add(ref)`` is an error) and the
types of every ``core_services.<name>`` ref. Type-checked by mypy --strict and
pyright strict, never run; a line ending in a ``type: ignore`` comment with a code
is a mistake both checkers must report on that line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, assert_type

from di_backend import (
    Backend,
    BackendFeature,
    BackendStartupError,
    BackendStartupResult,
    ModuleStartupResult,
    PluginRegistrationPoints,
    PluginStartupResult,
    ServiceFactory,
    ServiceRef,
    StartupFailure,
    core_services,
    create_backend,
    create_backend_plugin,
    create_extension_point,
    create_service_factory,
    create_specialized_backend,
    inject,
)
from di_backend.services import (
    LifecycleService,
    LoggerService,
    PluginMetadataService,
    RootConfigService,
    RootInstanceMetadataService,
    RootLifecycleService,
    RootLoggerService,
)

# --- core_services --------------------------------------------------------------------

assert_type(core_services.root_config, ServiceRef[RootConfigService])
assert_type(core_services.root_logger, ServiceRef[RootLoggerService])
assert_type(core_services.logger, ServiceRef[LoggerService])
assert_type(core_services.root_lifecycle, ServiceRef[RootLifecycleService])
assert_type(core_services.lifecycle, ServiceRef[LifecycleService])
assert_type(core_services.plugin_metadata, ServiceRef[PluginMetadataService])
assert_type(core_services.root_instance_metadata, ServiceRef[RootInstanceMetadataService])
assert_type(inject(core_services.root_lifecycle), RootLifecycleService)


# --- accepted -------------------------------------------------------------------------


def register(env: PluginRegistrationPoints) -> None:
    async def init(
        logger: LoggerService = inject(core_services.logger),
        instance: RootInstanceMetadataService = inject(core_services.root_instance_metadata),
        root_lifecycle: RootLifecycleService = inject(core_services.root_lifecycle),
    ) -> None:
        for plugin in await instance.get_installed_plugins():
            assert_type(plugin.plugin_id, str)
            logger.info(plugin.plugin_id, {"modules": [m.module_id for m in plugin.modules]})
        root_lifecycle.add_before_shutdown_hook(lambda: None)

    env.register_init(init)


todo_plugin = create_backend_plugin(plugin_id="todo", register=register)


def _root_logger() -> RootLoggerService:
    raise NotImplementedError


logger_factory = create_service_factory(core_services.root_logger, _root_logger)


async def main() -> None:
    assert_type(create_backend(), Backend)  # every default core service factory
    backend = create_specialized_backend()
    assert_type(backend, Backend)
    backend = create_specialized_backend(default_service_factories=[logger_factory])
    backend.add(todo_plugin)
    backend.add(logger_factory)  # an explicit factory overrides the default
    backend.add("todo_backend")  # imports the module and adds its `default`
    backend.add("todo_backend.plugin:todo_plugin")
    features: list[BackendFeature] = [todo_plugin, logger_factory]
    for feature in features:
        backend.add(feature)

    result = await backend.start()
    assert_type(result, BackendStartupResult)
    assert_type(result.begin_at, datetime)
    assert_type(result.result_at, datetime)
    assert_type(result.outcome, Literal["success", "failure"])
    for plugin in result.plugins:
        assert_type(plugin, PluginStartupResult)
        assert_type(plugin.plugin_id, str)
        assert_type(plugin.failure, StartupFailure | None)
        if plugin.failure is not None:
            assert_type(plugin.failure.error, BaseException)
            assert_type(plugin.failure.allowed, bool)
        for module in plugin.modules:
            assert_type(module, ModuleStartupResult)
            assert_type(module.module_id, str)
    await backend.stop()

    try:
        await create_specialized_backend().start()
    except BackendStartupError as error:
        assert_type(error.result, BackendStartupResult)

    async with create_specialized_backend() as started:
        assert_type(started, Backend)
        assert_type(await started.start(), BackendStartupResult)


def run() -> None:
    create_specialized_backend().run()


# ServiceFactory[object] is what the backend stores; any factory fits.
defaults: list[ServiceFactory[object]] = [logger_factory]

# --- rejected -------------------------------------------------------------------------


def mistakes(backend: Backend) -> None:
    # A ref where a feature is expected.
    backend.add(core_services.logger)  # type: ignore[arg-type]
    backend.add(create_extension_point(id="todo.ext"))  # type: ignore[arg-type]
    # A plugin where a default service factory is expected.
    create_specialized_backend(default_service_factories=[todo_plugin])  # type: ignore[list-item]
    # The factory function itself, not create_service_factory(...).
    backend.add(_root_logger)  # type: ignore[arg-type]
    # start() must be awaited (mypy: unused-coroutine; pyright: reportUnusedCoroutine).
    backend.start()  # type: ignore[unused-coroutine]
