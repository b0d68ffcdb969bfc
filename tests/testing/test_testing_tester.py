"""Tests for ``ServiceFactoryTester``: one factory's service, its dependencies, no backend."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

import pytest

from di_backend import (
    MultitonServiceRef,
    ServiceFactory,
    ServiceRef,
    core_services,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend.config import ObservableConfig
from di_backend.errors import (
    CircularDependencyError,
    ConflictError,
    InvalidFeatureError,
    MissingDependencyError,
    ServiceInstantiationError,
    ServiceNotFoundError,
)
from di_backend.services import LoggerService, PluginMetadataService, RootConfigService
from di_backend.testing import MockLogger, ServiceFactoryTester, mock_services


@dataclass
class Store:
    """A plugin-scoped service that remembers who it was made for."""

    plugin_id: str
    prefix: str = ""


@dataclass
class Clock:
    """A root-scoped service."""

    name: str


store_ref: ServiceRef[Store] = create_service_ref(id="test.store")
clock_ref: ServiceRef[Clock] = create_service_ref(id="test.clock", scope="root")
tags_ref: MultitonServiceRef[str] = create_service_ref(id="test.tags", multiton=True)


def _store(metadata: PluginMetadataService = inject(core_services.plugin_metadata)) -> Store:
    return Store(metadata.get_id())


store_factory = create_service_factory(store_ref, _store)


def _clock_factory(name: str) -> ServiceFactory[Clock]:
    return create_service_factory(clock_ref, lambda: Clock(name))


class _Metadata:
    def get_id(self) -> str:
        return "fake"


class TestSubject:
    async def test_default_plugin_id_is_test(self) -> None:
        """``get_subject()`` creates the service for plugin ``test``."""
        tester = ServiceFactoryTester.create(store_factory)
        assert await tester.get_subject() == Store("test")

    async def test_one_instance_per_plugin_id(self) -> None:
        """A plugin-scoped subject is created once per plugin id."""
        tester = ServiceFactoryTester.create(store_factory)
        first = await tester.get_subject("a")
        assert await tester.get_subject("a") is first
        assert await tester.get_subject(plugin_id="b") == Store("b")

    async def test_root_subject_ignores_the_plugin_id(self) -> None:
        """A root-scoped subject is one instance whatever plugin id is asked for."""
        tester = ServiceFactoryTester.create(_clock_factory("utc"))
        first = await tester.get_subject("a")
        assert first == Clock("utc")
        assert await tester.get_subject("b") is first

    def test_create_is_synchronous_and_runs_nothing(self) -> None:
        """``create`` returns a tester right away without calling the factory."""
        calls: list[str] = []

        def make() -> Clock:
            calls.append("made")
            return Clock("x")

        tester = ServiceFactoryTester.create(create_service_factory(clock_ref, make))
        assert isinstance(tester, ServiceFactoryTester)
        assert not inspect.isawaitable(tester)
        assert calls == []

    async def test_root_context_is_shared_across_plugin_ids(self) -> None:
        """A plugin factory's root context runs once for every plugin id."""
        contexts: list[str] = []

        def context() -> str:
            contexts.append("ctx")
            return f"ctx{len(contexts)}"

        def make(
            ctx: str, metadata: PluginMetadataService = inject(core_services.plugin_metadata)
        ) -> Store:
            return Store(metadata.get_id(), ctx)

        factory = create_service_factory(store_ref, make, create_root_context=context)
        tester = ServiceFactoryTester.create(factory)
        assert await tester.get_subject("a") == Store("a", "ctx1")
        assert await tester.get_subject("b") == Store("b", "ctx1")
        assert contexts == ["ctx"]

    async def test_multiton_subject_is_its_own_instance(self) -> None:
        """For a multiton ref the subject gives its own instance; ``get_service`` gives all."""
        other = create_service_factory(tags_ref, lambda: "other")
        subject = create_service_factory(tags_ref, lambda: "mine")
        tester = ServiceFactoryTester.create(subject, dependencies=[other])
        assert await tester.get_subject() == "mine"
        assert await tester.get_service(tags_ref) == ["other", "mine"]

    async def test_factory_error_is_wrapped_with_the_plugin_id(self) -> None:
        """A failing plugin factory surfaces with Backstage's message for the plugin."""

        def fail() -> Store:
            raise RuntimeError("boom")

        tester = ServiceFactoryTester.create(create_service_factory(store_ref, fail))
        message = (
            "Failed to instantiate service 'test.store' for 'todo' because the factory "
            "function threw an error, RuntimeError: boom"
        )
        with pytest.raises(ServiceInstantiationError, match=re.escape(message)):
            await tester.get_subject("todo")


class TestDependencies:
    async def test_mock_core_services_are_the_defaults(self) -> None:
        """Without dependencies the subject receives the mock core services."""
        received: list[object] = []

        def make(
            config: RootConfigService = inject(core_services.root_config),
            logger: LoggerService = inject(core_services.logger),
        ) -> Store:
            received.extend([config, logger])
            return Store("x")

        await ServiceFactoryTester.create(create_service_factory(store_ref, make)).get_subject()
        config, logger = received
        assert isinstance(config, ObservableConfig)
        assert config.keys() == []
        assert isinstance(logger, MockLogger)
        assert logger.fields == {"plugin": "test"}

    async def test_dependencies_replace_the_mocks(self) -> None:
        """A dependency for a core ref replaces its mock."""

        def make(config: RootConfigService = inject(core_services.root_config)) -> Clock:
            return Clock(config.get_string("zone"))

        tester = ServiceFactoryTester.create(
            create_service_factory(clock_ref, make),
            dependencies=[mock_services.root_config.factory(data={"zone": "cet"})],
        )
        assert await tester.get_subject() == Clock("cet")

    async def test_subject_beats_a_dependency_for_the_same_ref(self) -> None:
        """The subject wins over a dependency that provides the same ref."""
        tester = ServiceFactoryTester.create(
            _clock_factory("subject"), dependencies=[_clock_factory("dependency")]
        )
        assert await tester.get_subject() == Clock("subject")
        assert await tester.get_service(clock_ref) == Clock("subject")

    async def test_later_dependency_beats_an_earlier_one(self) -> None:
        """Of two dependencies for one ref, the later one is used."""
        tester = ServiceFactoryTester.create(
            store_factory, dependencies=[_clock_factory("first"), _clock_factory("second")]
        )
        assert await tester.get_service(clock_ref) == Clock("second")

    async def test_missing_dependency_has_backstage_message(self) -> None:
        """A dependency nobody provides fails with the missing-dependency message."""

        def make(clock: Clock = inject(clock_ref)) -> Store:
            return Store(clock.name)

        tester = ServiceFactoryTester.create(create_service_factory(store_ref, make))
        message = (
            "Failed to instantiate service 'test.store' for 'todo' because the following "
            "dependent services are missing: 'test.clock'"
        )
        with pytest.raises(MissingDependencyError, match=re.escape(message)):
            await tester.get_subject("todo")

    def test_cycles_are_found_at_create(self) -> None:
        """Factories that depend on each other fail when the tester is created."""
        a_ref: ServiceRef[str] = create_service_ref(id="test.a", scope="root")
        b_ref: ServiceRef[str] = create_service_ref(id="test.b", scope="root")

        def make_a(b: str = inject(b_ref)) -> str:
            return b

        def make_b(a: str = inject(a_ref)) -> str:
            return a

        with pytest.raises(CircularDependencyError, match="Circular dependencies detected") as info:
            ServiceFactoryTester.create(
                create_service_factory(a_ref, make_a),
                dependencies=[create_service_factory(b_ref, make_b)],
            )
        assert {"test.a", "test.b"} == set(info.value.cycles[0])

    def test_bad_arguments_are_rejected(self) -> None:
        """A non-factory subject or dependency, or a plugin-metadata factory, is refused."""
        with pytest.raises(InvalidFeatureError, match="expects a service factory, got 'x'"):
            ServiceFactoryTester.create("x")  # type: ignore[arg-type]
        with pytest.raises(InvalidFeatureError, match=re.escape("dependencies[1] must be")):
            ServiceFactoryTester.create(
                store_factory,
                dependencies=[store_factory, 3],  # type: ignore[list-item]
            )
        metadata = create_service_factory(core_services.plugin_metadata, _Metadata)
        with pytest.raises(
            ConflictError, match=r"core\.pluginMetadata service cannot be overridden"
        ):
            ServiceFactoryTester.create(store_factory, dependencies=[metadata])


class TestGetService:
    async def test_returns_a_dependency_as_the_subject_sees_it(self) -> None:
        """``get_service`` returns the same instance the subject received."""
        received: list[LoggerService] = []

        def make(logger: LoggerService = inject(core_services.logger)) -> Store:
            received.append(logger)
            return Store("x")

        tester = ServiceFactoryTester.create(create_service_factory(store_ref, make))
        await tester.get_subject("todo")
        assert await tester.get_service(core_services.logger, plugin_id="todo") is received[0]

    async def test_unknown_ref_is_not_found(self) -> None:
        """A ref nothing provides raises ``Service '<id>' not found``."""
        tester = ServiceFactoryTester.create(store_factory)
        with pytest.raises(ServiceNotFoundError, match=re.escape("Service 'test.clock' not found")):
            await tester.get_service(clock_ref)

    async def test_multiton_without_factories_is_empty(self) -> None:
        """A multiton ref nothing provides is an empty list, not an error."""
        tester = ServiceFactoryTester.create(store_factory)
        tags = await tester.get_service(tags_ref)
        assert tags == []
        assert isinstance(tags, list)

    async def test_plugin_metadata_is_per_plugin(self) -> None:
        """``core.pluginMetadata`` is available for any plugin id."""
        tester = ServiceFactoryTester.create(store_factory)
        metadata = await tester.get_service(core_services.plugin_metadata, "todo")
        assert metadata.get_id() == "todo"
