"""Pins plugins, modules and extension points: registration, inits, ``inject`` of extension points.

Covers the plugin/module example of ``api.md`` verbatim (modulo imports), sync and
``async`` inits, and the mistakes a type checker sees: an extension point
implementation that does not satisfy its ref, an init whose parameter does not
match its ref or lacks ``inject(...)``, an init that returns a value, a ``register``
with the wrong signature. (A *plugin* init that injects an extension point is
well-typed; the backend rejects it when it reads its features — see
``tests/test_typings.py``.) Type-checked by mypy --strict and pyright strict, never
run; a line ending in a ``type: ignore`` comment with a code is a mistake both
checkers must report on that line.
"""

from __future__ import annotations

from typing import Protocol, assert_type

from di_backend import (
    BackendModule,
    BackendPlugin,
    ExtensionPoint,
    ModuleRegistrationPoints,
    MultitonServiceRef,
    PluginRegistrationPoints,
    core_services,
    create_backend_module,
    create_backend_plugin,
    create_extension_point,
    create_service_ref,
    inject,
)
from di_backend.services import LifecycleService, LoggerService, PluginMetadataService


class Action(Protocol):
    def run(self) -> None: ...


class TodoExtension(Protocol):
    def add_action(self, action: Action) -> None: ...


class ActionRegistry:
    """Implements ``TodoExtension`` and carries more than the interface."""

    def __init__(self) -> None:
        self.actions: list[Action] = []

    def add_action(self, action: Action) -> None:
        self.actions.append(action)


class GithubAction:
    def run(self) -> None: ...


todo_ext: ExtensionPoint[TodoExtension] = create_extension_point(id="todo.extension")
actions: MultitonServiceRef[Action] = create_service_ref(id="todo.actions", multiton=True)

# --- accepted: api.md's example -------------------------------------------------------


def register(env: PluginRegistrationPoints) -> None:
    registry = ActionRegistry()  # may carry more than the interface
    env.register_extension_point(todo_ext, registry)

    async def init(logger: LoggerService = inject(core_services.logger)) -> None:
        logger.info(f"{len(registry.actions)} actions")

    env.register_init(init)


todo_plugin = create_backend_plugin(plugin_id="todo", register=register)
assert_type(todo_plugin, BackendPlugin)
assert_type(todo_plugin.plugin_id, str)


def register_github(env: ModuleRegistrationPoints) -> None:
    async def init(ext: TodoExtension = inject(todo_ext)) -> None:
        ext.add_action(GithubAction())

    env.register_init(init)


todo_module_github = create_backend_module(
    plugin_id="todo", module_id="github", register=register_github
)
assert_type(todo_module_github, BackendModule)
assert_type(todo_module_github.module_id, str)


# Plain ``def`` inits, inits without dependencies, multiton lists, and a module
# that both consumes an extension point and registers its own.
class GithubExtension(Protocol):
    def add_org(self, org: str) -> None: ...


github_ext: ExtensionPoint[GithubExtension] = create_extension_point(id="todo.github")


class Orgs:
    def __init__(self) -> None:
        self.orgs: list[str] = []

    def add_org(self, org: str) -> None:
        self.orgs.append(org)


def register_module(env: ModuleRegistrationPoints) -> None:
    orgs = Orgs()
    env.register_extension_point(github_ext, orgs)

    def init(
        ext: TodoExtension = inject(todo_ext),
        all_actions: list[Action] = inject(actions),
        lifecycle: LifecycleService = inject(core_services.lifecycle),
        metadata: PluginMetadataService = inject(core_services.plugin_metadata),
    ) -> None:
        for action in all_actions:
            ext.add_action(action)
        lifecycle.add_startup_hook(lambda: None)
        lifecycle.add_shutdown_hook(lambda: print(metadata.get_id(), orgs.orgs))

    env.register_init(init)


def register_no_deps(env: PluginRegistrationPoints) -> None:
    def init() -> None: ...

    env.register_init(init)


async def _async_hook() -> None: ...


def register_hooks(env: PluginRegistrationPoints) -> None:
    async def init(lifecycle: LifecycleService = inject(core_services.lifecycle)) -> None:
        lifecycle.add_startup_hook(_async_hook)  # hooks may be sync or async

    env.register_init(init)


create_backend_module(plugin_id="todo", module_id="orgs", register=register_module)
create_backend_plugin(plugin_id="nodeps", register=register_no_deps)
create_backend_plugin(plugin_id="hooks", register=register_hooks)

# A plugin may register extension points too, and so may a lambda ``register``.
create_backend_plugin(
    plugin_id="lambda",
    register=lambda env: env.register_extension_point(todo_ext, ActionRegistry()),
)

# --- rejected -------------------------------------------------------------------------


class NotAnExtension:
    def add(self, action: Action) -> None: ...


def register_bad_impl(env: PluginRegistrationPoints) -> None:
    # An implementation that does not satisfy the extension point.
    env.register_extension_point(todo_ext, NotAnExtension())  # type: ignore[misc]
    # A service ref where an extension point is expected.
    env.register_extension_point(actions, ActionRegistry())  # type: ignore[arg-type]


# A parameter typed differently from its inject(ref).
async def wrong_type(ext: LoggerService = inject(todo_ext)) -> None: ...  # type: ignore[assignment]


def register_bad_init(env: ModuleRegistrationPoints) -> None:
    # A parameter without an inject(...) default.
    async def missing(ext: TodoExtension) -> None: ...

    # An init returns None (or an awaitable of None).
    def returns(ext: TodoExtension = inject(todo_ext)) -> int:
        return 1

    env.register_init(missing)  # type: ignore[type-var]
    env.register_init(returns)  # type: ignore[type-var]


# ``register`` receives the registration points of its own kind.
create_backend_plugin(plugin_id="x", register=register_github)  # type: ignore[arg-type]
create_backend_module(plugin_id="x", module_id="y", register=register)  # type: ignore[arg-type]
