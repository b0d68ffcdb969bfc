"""Pins ``create_backend_feature_loader``: what a loader may take and return.

A loader declares root dependencies with ``inject(...)`` and returns a list, a
generator, an async generator or an awaitable list of features or import strings
(loaders among them). Type-checked by mypy --strict and pyright strict, never
run; a line ending in a ``type: ignore`` comment with a code is a mistake both
checkers must report on that line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import assert_type

from di_backend import (
    BackendFeature,
    BackendFeatureLoader,
    PluginRegistrationPoints,
    ServiceFactory,
    core_services,
    create_backend_feature_loader,
    create_backend_plugin,
    create_service_factory,
    inject,
)
from di_backend.services import RootConfigService, RootLoggerService


def _register(env: PluginRegistrationPoints) -> None:
    env.register_init(lambda: None)


todo_plugin = create_backend_plugin(plugin_id="todo", register=_register)


def _root_logger(
    config: RootConfigService = inject(core_services.root_config),
) -> RootLoggerService:
    raise NotImplementedError


logger_factory: ServiceFactory[RootLoggerService] = create_service_factory(
    core_services.root_logger, _root_logger
)

# --- accepted -------------------------------------------------------------------------


# A list of features and import strings.
def as_list(
    config: RootConfigService = inject(core_services.root_config),
) -> list[BackendFeature | str]:
    if config.get_optional_boolean("todo.enabled"):
        return [todo_plugin, "todo_backend.plugin:todo_plugin"]
    return []


# A list of one concrete feature type (lists are invariant; the parameter is an Iterable).
def only_plugins() -> list[BackendFeature]:
    return [todo_plugin]


# A generator.
def as_generator(
    logger: RootLoggerService = inject(core_services.root_logger),
) -> Iterator[BackendFeature | str]:
    logger.info("loading")
    yield todo_plugin
    yield logger_factory
    yield "todo_backend"


# An async generator.
async def as_async_generator() -> AsyncIterator[BackendFeature]:
    yield todo_plugin


# An awaitable list.
async def as_awaitable(config: RootConfigService = inject(core_services.root_config)) -> list[str]:
    return config.get_string_array("backend.features")


loader = create_backend_feature_loader(as_list)
assert_type(loader, BackendFeatureLoader)
assert_type(loader.description, str)
assert_type(create_backend_feature_loader(only_plugins), BackendFeatureLoader)
assert_type(create_backend_feature_loader(as_generator), BackendFeatureLoader)
assert_type(create_backend_feature_loader(as_async_generator), BackendFeatureLoader)
assert_type(create_backend_feature_loader(as_awaitable), BackendFeatureLoader)
assert_type(create_backend_feature_loader(lambda: [todo_plugin]), BackendFeatureLoader)


# Loaders may return loaders.
def nested() -> list[BackendFeature]:
    return [loader, create_backend_feature_loader(as_generator)]


assert_type(create_backend_feature_loader(nested), BackendFeatureLoader)

# --- rejected -------------------------------------------------------------------------


def returns_refs() -> list[object]:
    return [core_services.logger]


async def yields_ints() -> AsyncIterator[int]:
    yield 1


def needs_argument(config: RootConfigService) -> list[str]:
    return []


# Something that is neither a feature nor an import string.
create_backend_feature_loader(returns_refs)  # type: ignore[arg-type]
create_backend_feature_loader(yields_ints)  # type: ignore[arg-type]
# A parameter without an inject(...) default.
create_backend_feature_loader(needs_argument)  # type: ignore[arg-type]


# A wrongly typed dependency.
def wrong_dep(config: RootLoggerService = inject(core_services.root_config)) -> list[str]:  # type: ignore[assignment]
    return []
