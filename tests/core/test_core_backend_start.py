"""A backend start end to end: a plugin with modules, extension points, services and metadata."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Protocol

import pytest
from core_support import module, noop, plugin

from di_backend import (
    Backend,
    ExtensionPoint,
    PluginRegistrationPoints,
    ServiceRef,
    core_services,
    create_backend_plugin,
    create_extension_point,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend.services import (
    InstalledPlugin,
    LoggerService,
    PluginMetadataService,
    RootConfigService,
    RootInstanceMetadataService,
)

MakeBackend = Callable[..., Backend]


class TodoStore(Protocol):
    """What the ``todo.store`` service offers."""

    def list(self) -> list[str]:
        """Return the todos."""
        ...


class MemoryStore:
    """A TodoStore over a list."""

    def __init__(self, items: list[str]) -> None:
        self.items = items

    def list(self) -> list[str]:
        """Return the todos."""
        return list(self.items)


class Actions:
    """The ``todo.actions`` extension point: modules add action names."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, name: str) -> None:
        """Add an action."""
        self.names.append(name)


todo_store: ServiceRef[TodoStore] = create_service_ref(id="todo.store")
todo_actions: ExtensionPoint[Actions] = create_extension_point(id="todo.actions")


async def installed(backend: Backend) -> Sequence[InstalledPlugin]:
    """Start ``backend`` and return what its root instance metadata lists."""
    seen: list[RootInstanceMetadataService] = []

    def init(
        meta: RootInstanceMetadataService = inject(core_services.root_instance_metadata),
    ) -> None:
        seen.append(meta)

    backend.add(plugin("inspector", init))
    await backend.start()
    return await seen[0].get_installed_plugins()


class TestEndToEnd:
    async def test_todo_backend_starts(self, make_backend: MakeBackend) -> None:
        """A plugin, its modules, a service and an extension point work together."""
        report: list[str] = []

        def register(env: PluginRegistrationPoints) -> None:
            actions = Actions()
            env.register_extension_point(todo_actions, actions)

            async def init(
                store: TodoStore = inject(todo_store),
                logger: LoggerService = inject(core_services.logger),
                metadata: PluginMetadataService = inject(core_services.plugin_metadata),
            ) -> None:
                report.append(f"{metadata.get_id()}: {store.list()} {sorted(actions.names)}")
                logger.info("todo started")

            env.register_init(init)

        def github(ext: Actions = inject(todo_actions)) -> None:
            ext.add("github")

        async def gitlab(ext: Actions = inject(todo_actions)) -> None:
            ext.add("gitlab")

        def make_store(config: RootConfigService = inject(core_services.root_config)) -> TodoStore:
            return MemoryStore([config.get_string("todo.first")])

        backend = make_backend(
            create_backend_plugin(plugin_id="todo", register=register),
            module("todo", "github", github),
            module("todo", "gitlab", gitlab),
            create_service_factory(todo_store, make_store),
            config={"todo": {"first": "write tests"}},
        )
        result = await backend.start()
        assert report == ["todo: ['write tests'] ['github', 'gitlab']"]
        assert result.outcome == "success"
        assert [m.module_id for m in result.plugins[0].modules] in (
            ["github", "gitlab"],
            ["gitlab", "github"],
        )

    async def test_start_logs_the_plugins(
        self, make_backend: MakeBackend, logs: list[tuple[str, str]]
    ) -> None:
        """Start logs the sorted plugin ids it initialises, and completion."""
        await make_backend(plugin("zeta", noop), plugin("alpha", noop)).start()
        assert ("info", "Plugin initialization started: 'alpha', 'zeta'") in logs
        assert ("info", "Plugin initialization complete") in logs

    async def test_plugin_logger_is_a_child_of_the_root_logger(
        self, make_backend: MakeBackend, logs: list[tuple[str, str]]
    ) -> None:
        """The plugin logger writes through the root logger."""

        def init(logger: LoggerService = inject(core_services.logger)) -> None:
            logger.warn("from the plugin")

        await make_backend(plugin("p", init)).start()
        assert ("warn", "from the plugin") in logs


class TestRootInstanceMetadata:
    async def test_lists_installed_plugins_with_their_modules(
        self, make_backend: MakeBackend
    ) -> None:
        """``get_installed_plugins`` lists every plugin with its modules."""
        plugins = await installed(
            make_backend(
                plugin("a", noop),
                module("a", "one", noop),
                module("a", "two", noop),
                plugin("b", noop),
            )
        )
        listed = {p.plugin_id: sorted(m.module_id for m in p.modules) for p in plugins}
        assert listed == {"a": ["one", "two"], "b": [], "inspector": []}

    async def test_every_call_returns_the_same_listing(self, make_backend: MakeBackend) -> None:
        """The listing is built once, on the first call, and every later call returns it."""
        seen: list[RootInstanceMetadataService] = []

        def init(
            meta: RootInstanceMetadataService = inject(core_services.root_instance_metadata),
        ) -> None:
            seen.append(meta)

        backend = make_backend(plugin("a", noop), module("a", "one", noop), plugin("b", init))
        await backend.start()
        first = await seen[0].get_installed_plugins()
        assert [(p.plugin_id, [m.module_id for m in p.modules]) for p in first] == [
            ("a", ["one"]),
            ("b", []),
        ]
        assert await seen[0].get_installed_plugins() is first

    async def test_excludes_orphan_modules(self, make_backend: MakeBackend) -> None:
        """Modules whose plugin is not installed are not listed."""
        plugins = await installed(make_backend(plugin("a", noop), module("absent", "m", noop)))
        assert sorted(p.plugin_id for p in plugins) == ["a", "inspector"]
        assert all(p.plugin_id != "absent" for p in plugins)

    async def test_objects_are_frozen(self, make_backend: MakeBackend) -> None:
        """Assigning to the listed plugins or modules raises."""
        plugins = await installed(make_backend(plugin("a", noop), module("a", "m", noop)))
        entry = next(p for p in plugins if p.plugin_id == "a")
        with pytest.raises(dataclasses.FrozenInstanceError):
            entry.plugin_id = "b"  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            entry.modules[0].module_id = "x"  # type: ignore[misc]
        with pytest.raises((TypeError, AttributeError)):
            entry.modules.append(entry.modules[0])  # type: ignore[attr-defined]

    async def test_an_explicit_factory_replaces_the_backends(
        self, make_backend: MakeBackend
    ) -> None:
        """An added root instance metadata factory replaces the backend's (unlike Backstage)."""
        # Deliberate: test mocks install their own; see BackendInitializer._start.
        fake_plugins = (InstalledPlugin("fake", ()),)

        class Fake:
            async def get_installed_plugins(self) -> Sequence[InstalledPlugin]:
                return fake_plugins

        def fake() -> RootInstanceMetadataService:
            return Fake()

        backend = make_backend(
            plugin("a", noop), create_service_factory(core_services.root_instance_metadata, fake)
        )
        assert await installed(backend) == fake_plugins
