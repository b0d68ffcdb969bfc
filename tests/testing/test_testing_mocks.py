"""Tests for ``mock_services``: the fakes, their factories and the recording mocks."""

from __future__ import annotations

import re
from unittest.mock import AsyncMock, Mock

import pytest

from di_backend import ServiceRef, core_services
from di_backend.config import ObservableConfig
from di_backend.errors import ConfigError, ConfigKeyError, ConfigTypeError, InvalidFeatureError
from di_backend.services import (
    InstalledModule,
    InstalledPlugin,
    LifecycleService,
    LoggerService,
    RootLifecycleService,
)
from di_backend.testing import (
    LogEntry,
    MockLifecycle,
    MockLogger,
    MockRootInstanceMetadata,
    MockRootLifecycle,
    ServiceFactoryTester,
    ServiceMock,
    mock_credentials,
    mock_services,
    start_test_backend,
)


def _core_service_names() -> list[str]:
    return [name for name, value in vars(core_services).items() if isinstance(value, ServiceRef)]


def _mocked_names() -> list[str]:
    return [name for name in _core_service_names() if name != "plugin_metadata"]


class TestCoverage:
    def test_core_services_are_enumerated(self) -> None:
        """The coverage check sees the core refs and excludes only ``plugin_metadata``."""
        names = _core_service_names()
        assert {"root_config", "logger", "plugin_metadata"} <= set(names)
        assert len(_mocked_names()) == len(names) - 1
        assert not hasattr(mock_services, "plugin_metadata")

    @pytest.mark.parametrize("name", _mocked_names())
    def test_core_service_has_a_mock_serving_its_ref(self, name: str) -> None:
        """Each core service but ``plugin_metadata`` has an entry whose factories serve its ref."""
        assert hasattr(mock_services, name), f"add mock_services.{name}"
        entry = getattr(mock_services, name)
        ref = getattr(core_services, name)
        assert entry.factory().service is ref
        assert entry.mock().factory.service is ref


class TestRootConfig:
    def test_reads_the_given_data(self) -> None:
        """The fake config reads nested keys from ``data``."""
        config = mock_services.root_config(data={"todo": {"limit": 3, "name": "x"}})
        assert isinstance(config, ObservableConfig)
        assert config.get_number("todo.limit") == 3
        assert config.get_config("todo").get_string("name") == "x"
        assert config.get_optional_string("todo.missing") is None

    def test_required_read_of_missing_key_raises(self) -> None:
        """Reading a missing required key raises ``ConfigKeyError`` naming the key."""
        config = mock_services.root_config(data={"todo": {}})
        with pytest.raises(ConfigKeyError, match=r"todo\.limit"):
            config.get_number("todo.limit")

    def test_required_read_of_wrong_type_raises(self) -> None:
        """Reading a value of the wrong type raises ``ConfigTypeError``."""
        config = mock_services.root_config(data={"todo": {"limit": "three"}})
        with pytest.raises(ConfigTypeError, match=r"todo\.limit"):
            config.get_number("todo.limit")

    def test_update_notifies_only_on_a_real_change(self) -> None:
        """``update(data=...)`` calls subscribers only when the data changed."""
        config = mock_services.root_config(data={"a": 1})
        calls: list[float] = []
        config.subscribe(lambda: calls.append(config.get_number("a")))
        assert config.update(data={"a": 1}) is False
        assert calls == []
        assert config.update(data={"a": 2}) is True
        assert calls == [2]

    def test_sub_config_subscribe_and_unsubscribe(self) -> None:
        """A sub-config's subscriber runs after a change and not after unsubscribing."""
        config = mock_services.root_config(data={"todo": {"limit": 1}})
        sub = config.get_config("todo")
        calls: list[str] = []
        unsubscribe = sub.subscribe(lambda: calls.append("changed"))
        config.update(data={"todo": {"limit": 2}})
        assert sub.get_number("limit") == 2
        unsubscribe()
        config.update(data={"todo": {"limit": 3}})
        assert calls == ["changed"]

    async def test_factory_gives_each_consumer_a_fresh_config(self) -> None:
        """``.factory(data=...)`` builds a new config per tester, so updates never leak."""
        factory = mock_services.root_config.factory(data={"a": 1})
        first = await ServiceFactoryTester.create(factory).get_subject()
        second = await ServiceFactoryTester.create(factory).get_subject()
        assert first is not second
        assert isinstance(first, ObservableConfig)
        first.update(data={"a": 2})
        assert second.get_number("a") == 1

    def test_factory_rejects_bad_data_at_creation(self) -> None:
        """``.factory`` with data that is not JSON raises right away, not at backend start."""
        with pytest.raises(ConfigError):
            mock_services.root_config.factory(data={"a": object()})  # type: ignore[dict-item]


class TestLogger:
    def test_records_level_message_fields_and_error(self) -> None:
        """Every line is kept with its level, message, fields and exception."""
        root = mock_services.root_logger()
        error = RuntimeError("boom")
        root.child(plugin="todo").warn("careful", {"count": 2})
        root.error("failed", error)
        assert root.records == [
            LogEntry("warn", "careful", {"plugin": "todo", "count": 2}),
            LogEntry("error", "failed", {}, error),
        ]
        assert root.messages("error") == ["failed"]
        assert root.messages() == ["careful", "failed"]

    def test_child_shares_records_and_merges_fields(self) -> None:
        """A child's lines land in the parent's records; the child's fields win."""
        root = mock_services.root_logger()
        child = root.child(plugin="a", kind="x").child(kind="y")
        child.debug("hi")
        assert child.records is root.records
        assert root.records[0].fields == {"plugin": "a", "kind": "y"}
        assert root.fields == {}

    def test_level_decides_what_is_printed_not_what_is_recorded(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Level ``warn`` prints warn and error lines; all lines are recorded anyway."""
        root = mock_services.root_logger(level="warn")
        root.info("quiet")
        root.warn("loud", {"k": 1})
        root.error("louder")
        err = capsys.readouterr().err
        assert "quiet" not in err
        assert "warn: loud k=1" in err
        assert "error: louder" in err
        assert root.messages() == ["quiet", "loud", "louder"]

    def test_default_level_prints_nothing(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The default level ``none`` prints no line."""
        mock_services.logger().error("silent")
        assert capsys.readouterr().err == ""

    def test_invalid_level_is_rejected(self) -> None:
        """An unknown level raises with Backstage's message and the allowed names."""
        message = (
            "Invalid log level 'loud', must be one of 'none', 'error', 'warn', 'info' or 'debug'"
        )
        with pytest.raises(ConfigError, match=re.escape(message)):
            MockLogger(level="loud")  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match=re.escape(message)):
            mock_services.root_logger.factory(level="loud")  # type: ignore[arg-type]

    async def test_default_plugin_logger_is_a_child_of_the_root_logger(self) -> None:
        """``logger.factory()`` gives each plugin a child of the root logger, sharing records."""
        tester = ServiceFactoryTester.create(mock_services.logger.factory())
        logger = await tester.get_subject("todo")
        logger.info("hello")
        root = await tester.get_service(core_services.root_logger)
        assert isinstance(root, MockLogger)
        assert root.records == [LogEntry("info", "hello", {"plugin": "todo"})]

    async def test_plugin_logger_with_level_is_its_own(self) -> None:
        """``logger.factory(level=...)`` gives each plugin its own logger with a plugin field."""
        tester = ServiceFactoryTester.create(mock_services.logger.factory(level="error"))
        logger = await tester.get_subject("todo")
        assert isinstance(logger, MockLogger)
        assert logger.level == "error"
        logger.info("hello")
        root = await tester.get_service(core_services.root_logger)
        assert isinstance(root, MockLogger)
        assert root.records == []
        assert logger.records == [LogEntry("info", "hello", {"plugin": "todo"})]


class TestRecordingMocks:
    def test_mock_follows_the_interface(self) -> None:
        """A mock is a ``Mock`` with the interface as spec; unknown attributes raise."""
        logger = mock_services.logger.mock()
        assert isinstance(logger, Mock)
        assert isinstance(logger, ServiceMock)
        assert isinstance(logger, LoggerService)
        with pytest.raises(AttributeError):
            logger.not_a_method  # noqa: B018

    def test_given_implementations_run_and_are_recorded(self) -> None:
        """A given method runs its implementation and records its calls."""

        def get_string(key: str) -> str:
            return f"value of {key}"

        config = mock_services.root_config.mock(get_string=get_string)
        assert config.get_string("a.b") == "value of a.b"
        config.get_string.assert_called_once_with("a.b")

    async def test_async_methods_become_async_mocks(self) -> None:
        """An implementation of an ``async`` method is awaited and recorded."""
        plugins = (InstalledPlugin("todo", (InstalledModule("gh"),)),)
        metadata = mock_services.root_instance_metadata.mock(get_installed_plugins=lambda: plugins)
        assert isinstance(metadata.get_installed_plugins, AsyncMock)
        assert await metadata.get_installed_plugins() == plugins
        metadata.get_installed_plugins.assert_awaited_once()

    def test_unknown_method_is_rejected(self) -> None:
        """Implementing a name the interface lacks raises, naming it and the allowed ones."""
        message = (
            "mock() of serviceRef{core.logger} got 'infoo', which LoggerService does not "
            "have; a mock can only implement the interface's methods: 'child', 'debug', "
            "'error', 'info', 'warn'"
        )
        with pytest.raises(InvalidFeatureError, match=re.escape(message)):
            mock_services.logger.mock(infoo=print)

    def test_logger_mock_child_returns_a_recording_logger_mock(self) -> None:
        """``logger.mock().child()`` returns a logger mock, the same one on every call."""
        logger = mock_services.logger.mock()
        child = logger.child(plugin="todo")
        assert isinstance(child, ServiceMock)
        assert isinstance(child, LoggerService)
        child.info("hi")
        assert logger.child(plugin="other") is child
        child.info.assert_called_once_with("hi")
        logger.child.assert_any_call(plugin="todo")

    def test_given_child_implementation_replaces_the_default(self) -> None:
        """A ``child`` implementation given to ``mock()`` is used instead of the default."""
        other = mock_services.logger()

        def child(**fields: object) -> LoggerService:
            return other

        logger = mock_services.logger.mock(child=child)
        assert logger.child(x=1) is other

    async def test_factory_installs_exactly_the_mock(self) -> None:
        """``.mock().factory`` provides that very object."""
        logger = mock_services.logger.mock()
        tester = ServiceFactoryTester.create(logger.factory)
        assert await tester.get_subject("a") is logger
        assert await tester.get_subject("b") is logger

    async def test_lifecycle_mocks_are_driven_by_a_test_backend(self) -> None:
        """A root lifecycle mock is accepted by a backend, which awaits its controls."""
        root_lifecycle = mock_services.root_lifecycle.mock()
        backend = await start_test_backend(features=[root_lifecycle.factory])
        root_lifecycle.startup.assert_awaited_once()
        root_lifecycle.shutdown.assert_not_awaited()
        await backend.stop()
        root_lifecycle.before_shutdown.assert_awaited_once()
        root_lifecycle.shutdown.assert_awaited_once()


class TestLifecycleFakes:
    async def test_root_lifecycle_runs_hooks_and_logs_failures(self) -> None:
        """The root lifecycle fake runs its hooks per phase and logs a failing hook."""
        logger = MockLogger()
        lifecycle = mock_services.root_lifecycle(logger=logger)
        assert isinstance(lifecycle, MockRootLifecycle)
        assert isinstance(lifecycle, RootLifecycleService)
        calls: list[str] = []

        def fail() -> None:
            raise RuntimeError("boom")

        lifecycle.add_startup_hook(lambda: calls.append("startup"))
        lifecycle.add_startup_hook(fail)
        lifecycle.add_before_shutdown_hook(lambda: calls.append("before"))
        lifecycle.add_shutdown_hook(lambda: calls.append("shutdown"))
        await lifecycle.startup()
        await lifecycle.before_shutdown()
        await lifecycle.shutdown()
        assert calls == ["startup", "before", "shutdown"]
        assert logger.messages("error") == ["Startup hook failed, RuntimeError: boom"]
        assert lifecycle.logger is logger

    async def test_plugin_lifecycle_runs_hooks(self) -> None:
        """The plugin lifecycle fake runs startup and shutdown hooks."""
        lifecycle = mock_services.lifecycle()
        assert isinstance(lifecycle, MockLifecycle)
        assert isinstance(lifecycle, LifecycleService)
        assert isinstance(lifecycle.logger, MockLogger)
        calls: list[str] = []
        lifecycle.add_startup_hook(lambda: calls.append("startup"))
        lifecycle.add_shutdown_hook(lambda: calls.append("shutdown"))
        await lifecycle.startup()
        await lifecycle.shutdown()
        assert calls == ["startup", "shutdown"]

    async def test_lifecycle_factories_use_the_backend_loggers(self) -> None:
        """The lifecycle factories log hook failures to the backend's (mock) loggers."""
        tester = ServiceFactoryTester.create(mock_services.lifecycle.factory())
        lifecycle = await tester.get_subject("todo")
        assert isinstance(lifecycle, MockLifecycle)
        root = await tester.get_service(core_services.root_logger)
        assert isinstance(root, MockLogger)

        def fail() -> None:
            raise ValueError("bad")

        lifecycle.add_startup_hook(fail)
        await lifecycle.startup()
        assert root.records == [
            LogEntry(
                "error",
                "Plugin startup hook failed, ValueError: bad",
                {"plugin": "todo"},
                root.records[0].error,
            )
        ]
        assert isinstance(root.records[0].error, ValueError)


class TestInstanceMetadata:
    async def test_reports_the_given_plugins(self) -> None:
        """The instance metadata fake returns the plugins it was given (none by default)."""
        plugins = [InstalledPlugin("todo", ())]
        metadata = mock_services.root_instance_metadata(plugins=plugins)
        assert isinstance(metadata, MockRootInstanceMetadata)
        assert await metadata.get_installed_plugins() == tuple(plugins)
        assert await mock_services.root_instance_metadata().get_installed_plugins() == ()


def test_mock_entries_print_their_ref() -> None:
    """An entry's repr names the ref it mocks."""
    assert repr(mock_services.logger) == "<mock service for serviceRef{core.logger}>"


def test_mocks_are_typed_as_the_service() -> None:
    """A ``ServiceMock[LoggerService]`` is usable where a ``LoggerService`` is expected."""
    logger: ServiceMock[LoggerService] = mock_services.logger.mock()
    service: LoggerService = logger
    service.info("typed")
    logger.info.assert_called_once_with("typed")


class TestUserInfoMock:
    async def test_the_user_owns_themselves_unless_told_otherwise(self) -> None:
        """``mock_services.user_info()`` answers the user alone, or the refs it was given."""
        user = mock_credentials.user("user:default/jane")
        plain = await mock_services.user_info().get_user_info(user)
        assert plain.ownership_entity_refs == ("user:default/jane",)
        told = mock_services.user_info(ownership_entity_refs=["group:default/a"])
        info = await told.get_user_info(user)
        assert (info.user_entity_ref, info.ownership_entity_refs) == (
            "user:default/jane",
            ("group:default/a",),
        )

    async def test_service_credentials_are_refused(self) -> None:
        """Service credentials have no user info, as in Backstage's mock."""
        with pytest.raises(ValueError, match="Only user credentials are supported"):
            await mock_services.user_info().get_user_info(mock_credentials.service())
