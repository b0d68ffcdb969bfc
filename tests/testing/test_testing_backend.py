"""Tests for ``start_test_backend``: mock defaults, orphan modules, tested extension points."""

from __future__ import annotations

import asyncio
import re

import pytest
from testing_support import (
    ListLabels,
    ListRegistry,
    action_module,
    actions_ext,
    events_plugin,
    labels_ext,
    labels_module,
)

from di_backend import (
    Backend,
    BackendPlugin,
    BackendStartupError,
    ModuleRegistrationPoints,
    PluginRegistrationPoints,
    core_services,
    create_backend_module,
    create_backend_plugin,
    create_specialized_backend,
    inject,
)
from di_backend.config import ObservableConfig
from di_backend.errors import ConflictError, InvalidFeatureError, RegistrationError
from di_backend.services import (
    InstalledModule,
    InstalledPlugin,
    LifecycleService,
    LoggerService,
    RootConfigService,
    RootInstanceMetadataService,
    RootLifecycleService,
    RootLoggerService,
)
from di_backend.testing import (
    EXTENSION_POINT_MODULE_ID,
    ExtensionPointImpl,
    MockLifecycle,
    MockLogger,
    MockRootLifecycle,
    _live,
    mock_services,
    start_test_backend,
)
from di_backend.testing._mock_services import default_mock_factories


async def _installed(backend: Backend) -> tuple[InstalledPlugin, ...]:
    """What ``core.rootInstanceMetadata`` of a started backend reports."""
    container = backend._initializer.registry.container
    metadata = await container.get(core_services.root_instance_metadata, None)
    assert isinstance(metadata, RootInstanceMetadataService)
    return tuple(await metadata.get_installed_plugins())


class TestMockDefaults:
    async def test_every_core_service_is_a_mock(self) -> None:
        """A plugin in a test backend receives the mock core services."""
        seen: dict[str, object] = {}

        def register(env: PluginRegistrationPoints) -> None:
            def init(
                config: RootConfigService = inject(core_services.root_config),
                root_logger: RootLoggerService = inject(core_services.root_logger),
                logger: LoggerService = inject(core_services.logger),
                root_lifecycle: RootLifecycleService = inject(core_services.root_lifecycle),
                lifecycle: LifecycleService = inject(core_services.lifecycle),
            ) -> None:
                seen.update(
                    config=config,
                    root_logger=root_logger,
                    logger=logger,
                    root_lifecycle=root_lifecycle,
                    lifecycle=lifecycle,
                )

            env.register_init(init)

        plugin = create_backend_plugin(plugin_id="todo", register=register)
        async with await start_test_backend(features=[plugin]):
            assert isinstance(seen["config"], ObservableConfig)
            assert isinstance(seen["root_logger"], MockLogger)
            assert isinstance(seen["logger"], MockLogger)
            assert isinstance(seen["root_lifecycle"], MockRootLifecycle)
            assert isinstance(seen["lifecycle"], MockLifecycle)
            root_logger = seen["root_logger"]
            assert isinstance(root_logger, MockLogger)
            assert "Plugin initialization complete" in root_logger.messages("info")

    async def test_feature_factory_replaces_the_mock(self) -> None:
        """A service factory in ``features`` replaces the mock for its ref."""
        limits: list[float] = []

        def register(env: PluginRegistrationPoints) -> None:
            def init(config: RootConfigService = inject(core_services.root_config)) -> None:
                limits.append(config.get_number("todo.limit"))

            env.register_init(init)

        plugin = create_backend_plugin(plugin_id="todo", register=register)
        config = mock_services.root_config.factory(data={"todo": {"limit": 3}})
        backend = await start_test_backend(features=[plugin, config])
        await backend.stop()
        assert limits == [3]

    async def test_hooks_run_in_order_and_the_backend_stops(self) -> None:
        """Init, startup hooks and (at stop) shutdown hooks run; the backend is returned started."""
        events: list[str] = []
        backend = await start_test_backend(features=[events_plugin(events)])
        assert isinstance(backend, Backend)
        assert events == ["plugin init", "startup hook"]
        await backend.stop()
        assert events == ["plugin init", "startup hook", "shutdown hook"]

    async def test_async_with_stops_the_backend(self) -> None:
        """Leaving ``async with`` stops the backend and runs its shutdown hooks."""
        events: list[str] = []
        async with await start_test_backend(features=[events_plugin(events)]) as backend:
            assert isinstance(backend, Backend)
        assert events[-1] == "shutdown hook"

    async def test_import_string_features(self) -> None:
        """Features may be given as import strings."""
        backend = await start_test_backend(features=["testing_support:named_plugin"])
        assert await _installed(backend) == (InstalledPlugin("named", ()),)
        await backend.stop()

    async def test_invalid_feature_is_named_by_position(self) -> None:
        """A non-feature item fails with its position in ``features``."""
        with pytest.raises(InvalidFeatureError, match=re.escape("features[1]")):
            await start_test_backend(features=[events_plugin([]), 42])  # type: ignore[list-item]


class TestOrphanModules:
    async def test_module_without_its_plugin_gets_an_empty_plugin(self) -> None:
        """A module whose plugin is absent runs, under an empty plugin of that id."""
        events: list[str] = []
        registry = ListRegistry()
        backend = await start_test_backend(
            features=[action_module("github", events=events)],
            extension_points=[(actions_ext, registry)],
        )
        assert events == ["module github"]
        assert registry.actions == ["github"]
        assert await _installed(backend) == (
            InstalledPlugin(
                "todo",
                (InstalledModule("github"), InstalledModule(EXTENSION_POINT_MODULE_ID)),
            ),
        )
        await backend.stop()

    async def test_orphan_module_without_extension_points(self) -> None:
        """An orphan module that needs only services runs too."""
        ran: list[str] = []

        def register(env: ModuleRegistrationPoints) -> None:
            env.register_init(lambda: ran.append("ran"))

        module = create_backend_module(plugin_id="solo", module_id="one", register=register)
        backend = await start_test_backend(features=[module])
        assert ran == ["ran"]
        assert await _installed(backend) == (InstalledPlugin("solo", (InstalledModule("one"),)),)
        await backend.stop()


class TestExtensionPoints:
    async def test_modules_receive_the_very_object(self) -> None:
        """Modules of a present plugin receive the tested implementation itself."""
        events: list[str] = []
        registry = ListRegistry()
        backend = await start_test_backend(
            features=[
                events_plugin(events),
                action_module("github", events=events),
                action_module("jira", events=events),
            ],
            extension_points=[(actions_ext, registry)],
        )
        assert sorted(registry.actions) == ["github", "jira"]
        assert events[-2:] == ["plugin init", "startup hook"]  # modules before the plugin
        await backend.stop()

    async def test_extension_point_impls_mix_types(self) -> None:
        """``ExtensionPointImpl`` pairs of different types can be given together."""
        registry, labels = ListRegistry(), ListLabels()
        backend = await start_test_backend(
            features=[action_module("github"), labels_module("urgent")],
            extension_points=[
                ExtensionPointImpl(actions_ext, registry),
                ExtensionPointImpl(labels_ext, labels),
            ],
        )
        assert (registry.actions, labels.labels) == (["github"], ["urgent"])
        await backend.stop()

    async def test_unused_extension_points_are_rejected(self) -> None:
        """Tested extension points no module depends on fail with Backstage's message."""
        message = (
            "Unable to determine the plugin ID of extension point(s) 'todo.actions', "
            "'todo.labels'. Tested extension points must be depended on by one or more "
            "tested modules."
        )
        with pytest.raises(RegistrationError, match=re.escape(message)):
            await start_test_backend(
                features=[events_plugin([])],
                extension_points=[
                    ExtensionPointImpl(actions_ext, ListRegistry()),
                    ExtensionPointImpl(labels_ext, ListLabels()),
                ],
            )

    async def test_same_extension_point_twice_is_rejected(self) -> None:
        """An extension point given twice fails, naming it and the rule."""
        message = (
            "Extension point 'todo.actions' is given twice in extension_points; a tested "
            "extension point has exactly one implementation"
        )
        with pytest.raises(ConflictError, match=re.escape(message)):
            await start_test_backend(
                features=[action_module("github")],
                extension_points=[(actions_ext, ListRegistry()), (actions_ext, ListRegistry())],
            )

    async def test_bad_pair_is_rejected(self) -> None:
        """An item that is not an (extension point, implementation) pair fails with its index."""
        message = (
            "Invalid item extension_points[0]: expected an (extension point, implementation) "
            "pair or an ExtensionPointImpl, received 'nope'"
        )
        with pytest.raises(InvalidFeatureError, match=re.escape(message)):
            await start_test_backend(extension_points=["nope"])  # type: ignore[arg-type]
        with pytest.raises(InvalidFeatureError, match="expects an extension point first"):
            ExtensionPointImpl(core_services.logger, object())  # type: ignore[arg-type]

    async def test_register_errors_propagate_with_their_own_message(self) -> None:
        """A module whose ``register`` forgets ``register_init`` fails with Backstage's message."""
        module = create_backend_module(plugin_id="todo", module_id="gh", register=lambda env: None)
        with pytest.raises(RegistrationError, match="register_init was not called by register"):
            await start_test_backend(
                features=[module], extension_points=[(actions_ext, ListRegistry())]
            )


class TestFailures:
    async def test_init_errors_surface_with_backstage_messages(self) -> None:
        """A failing plugin init rejects start with the BackendStartupError message."""

        def register(env: PluginRegistrationPoints) -> None:
            def init() -> None:
                raise RuntimeError("boom")

            env.register_init(init)

        plugin = create_backend_plugin(plugin_id="todo", register=register)
        message = (
            "Backend startup failed due to the following errors:\n"
            "  Plugin 'todo' startup failed; caused by RuntimeError: boom"
        )
        with pytest.raises(BackendStartupError, match=re.escape(message)):
            await start_test_backend(features=[plugin])

    async def test_failed_start_leaves_no_running_backend(self) -> None:
        """A backend whose start failed is stopped and not left for session clean-up."""
        mark = _live.mark()
        module = create_backend_module(plugin_id="todo", module_id="gh", register=lambda env: None)
        with pytest.raises(RegistrationError):
            await start_test_backend(features=[module])
        assert _live.stop_leftovers(mark) == []
        assert not [entry for entry in _live._running.values() if entry[0] >= mark]

    async def test_started_backend_is_tracked_until_stopped(self) -> None:
        """A running test backend is listed for session clean-up until it is stopped."""
        mark = _live.mark()
        backend = await start_test_backend()
        assert backend in _live._running
        await backend.stop()
        assert backend not in _live._running
        assert _live.mark() > mark


class TestIsolation:
    async def test_a_replaced_service_never_reaches_another_backend(self) -> None:
        """Two backends in one process, one with a replaced config: each sees its own."""
        seen: dict[str, str | None] = {}

        def plugin(plugin_id: str) -> BackendPlugin:
            def register(env: PluginRegistrationPoints) -> None:
                async def init(
                    config: RootConfigService = inject(core_services.root_config),
                ) -> None:
                    await asyncio.sleep(0)
                    seen[plugin_id] = config.get_optional_string("name")

                env.register_init(init)

            return create_backend_plugin(plugin_id=plugin_id, register=register)

        replaced = mock_services.root_config.factory(data={"name": "replaced"})
        first, second = await asyncio.gather(
            start_test_backend(features=[plugin("first"), replaced]),
            start_test_backend(features=[plugin("second")]),
        )
        third = await start_test_backend(features=[plugin("third")])
        assert seen == {"first": "replaced", "second": None, "third": None}
        for backend in (first, second, third):
            await backend.stop()

    async def test_container_overrides_are_reset_when_the_backend_stops(self) -> None:
        """A dependency-injector override applies while running and is gone after stop."""
        seen: list[object] = []

        def register(env: PluginRegistrationPoints) -> None:
            def init(config: RootConfigService = inject(core_services.root_config)) -> None:
                seen.append(config)

            env.register_init(init)

        fake = mock_services.root_config(data={"fake": True})
        backend = create_specialized_backend(default_service_factories=default_mock_factories())
        backend.add(create_backend_plugin(plugin_id="todo", register=register))
        container = backend._initializer.registry.container
        container.override(core_services.root_config, fake)
        await backend.start()
        assert seen == [fake]
        await backend.stop()
        assert container._overrides == {}
        assert container._overridden == []
        assert await container.get(core_services.root_config, None) is not fake


async def test_async_with_start_test_backend_starts_and_stops_without_an_extra_await() -> None:
    """``async with start_test_backend(...) as backend`` starts on entry and stops on exit."""
    events: list[str] = []

    def register(env: PluginRegistrationPoints) -> None:
        async def init(lifecycle: LifecycleService = inject(core_services.lifecycle)) -> None:
            events.append("init")
            lifecycle.add_shutdown_hook(lambda: events.append("stopped"))

        env.register_init(init)

    starting = start_test_backend(
        features=[create_backend_plugin(plugin_id="ctx", register=register)]
    )
    assert events == []  # nothing starts before it is entered or awaited
    async with starting as backend:
        assert events == ["init"]
        assert isinstance(backend, Backend)
    assert events == ["init", "stopped"]
