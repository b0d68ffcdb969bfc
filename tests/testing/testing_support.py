"""Plugins, modules and refs shared by the ``di_backend.testing`` tests."""

from __future__ import annotations

from typing import Protocol

from di_backend import (
    BackendModule,
    BackendPlugin,
    ExtensionPoint,
    ModuleRegistrationPoints,
    PluginRegistrationPoints,
    core_services,
    create_backend_module,
    create_backend_plugin,
    create_extension_point,
    inject,
)
from di_backend.services import LifecycleService, LoggerService


class ActionRegistry(Protocol):
    """What the ``todo`` plugin shares with its modules."""

    def add_action(self, name: str) -> None:
        """Register an action by name."""
        ...


class ListRegistry:
    """An ``ActionRegistry`` that keeps the names in a list."""

    def __init__(self) -> None:
        self.actions: list[str] = []

    def add_action(self, name: str) -> None:
        """Append ``name``."""
        self.actions.append(name)


class Labels(Protocol):
    """A second extension point type, to mix types in one test."""

    def label(self, text: str) -> None:
        """Add a label."""
        ...


class ListLabels:
    """``Labels`` kept in a list."""

    def __init__(self) -> None:
        self.labels: list[str] = []

    def label(self, text: str) -> None:
        """Append ``text``."""
        self.labels.append(text)


actions_ext: ExtensionPoint[ActionRegistry] = create_extension_point(id="todo.actions")
labels_ext: ExtensionPoint[Labels] = create_extension_point(id="todo.labels")


def action_module(
    name: str, *, plugin_id: str = "todo", events: list[str] | None = None
) -> BackendModule:
    """A module of ``plugin_id`` that adds action ``name`` to ``actions_ext``."""

    def register(env: ModuleRegistrationPoints) -> None:
        def init(registry: ActionRegistry = inject(actions_ext)) -> None:
            registry.add_action(name)
            if events is not None:
                events.append(f"module {name}")

        env.register_init(init)

    return create_backend_module(plugin_id=plugin_id, module_id=name, register=register)


def labels_module(name: str) -> BackendModule:
    """A module of ``todo`` that adds label ``name`` to ``labels_ext``."""

    def register(env: ModuleRegistrationPoints) -> None:
        def init(labels: Labels = inject(labels_ext)) -> None:
            labels.label(name)

        env.register_init(init)

    return create_backend_module(plugin_id="todo", module_id=f"label-{name}", register=register)


def events_plugin(events: list[str], plugin_id: str = "todo") -> BackendPlugin:
    """A plugin that records its init and its lifecycle hooks in ``events``."""

    def register(env: PluginRegistrationPoints) -> None:
        async def init(
            logger: LoggerService = inject(core_services.logger),
            lifecycle: LifecycleService = inject(core_services.lifecycle),
        ) -> None:
            logger.info("plugin init")
            events.append("plugin init")
            lifecycle.add_startup_hook(lambda: events.append("startup hook"))
            lifecycle.add_shutdown_hook(lambda: events.append("shutdown hook"))

        env.register_init(init)

    return create_backend_plugin(plugin_id=plugin_id, register=register)


def _register_named(env: PluginRegistrationPoints) -> None:
    env.register_init(lambda: None)


named_plugin = create_backend_plugin(plugin_id="named", register=_register_named)
"""A plugin that does nothing, added by import string in the tests."""
