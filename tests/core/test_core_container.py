"""The dependency-injector containers behind a backend, and overriding refs through them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pytest
from core_support import plugin
from dependency_injector import providers

from di_backend import (
    Backend,
    BackendPlugin,
    ServiceRef,
    core_services,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend._container import ServiceContainer
from di_backend._plugin_metadata import PluginMetadata
from di_backend.services import PluginMetadataService

MakeBackend = Callable[..., Backend]


def consumer(plugin_id: str, ref: ServiceRef[str], seen: dict[str, str]) -> BackendPlugin:
    """A plugin recording the value of ``ref`` it received under its id."""

    def init(value: str = inject(ref)) -> None:
        seen[plugin_id] = value

    return plugin(plugin_id, init)


def container_of(backend: Backend) -> ServiceContainer:
    """The service container of ``backend``."""
    return backend._initializer.registry.container


def overridden(provider: object) -> bool:
    """Whether a dependency-injector provider currently has an override."""
    overrides: tuple[object, ...] = getattr(provider, "overridden", ())
    return len(overrides) > 0


def recording(calls: list[str], value: str) -> Callable[[], str]:
    """A factory without dependencies that records and returns ``value``."""

    def make() -> str:
        calls.append(value)
        return value

    return make


class TestContainers:
    async def test_each_plugin_has_its_own_providers(self, make_backend: MakeBackend) -> None:
        """Each plugin resolving services gets a providers dict of its own, with what it used."""
        ref: ServiceRef[str] = create_service_ref(id="c.svc")
        seen: dict[str, str] = {}

        def init_b(meta: PluginMetadataService = inject(core_services.plugin_metadata)) -> None:
            seen["b"] = meta.get_id()

        backend = make_backend(
            create_service_factory(ref, recording([], "real")),
            consumer("a", ref, seen),
            plugin("b", init_b),
        )
        await backend.start()
        container = container_of(backend)
        assert {"a", "b"} <= set(container._plugins)
        assert all(type(c) is dict for c in container._plugins.values())
        assert container._plugins["a"] is not container._plugins["b"]
        assert providers.is_provider(container._plugins["a"]["c.svc"])
        assert "c.svc" not in container._plugins["b"]

    async def test_root_services_live_in_the_root_container(
        self, make_backend: MakeBackend
    ) -> None:
        """Root refs are dependency-injector providers in one shared table of root providers."""
        ref: ServiceRef[str] = create_service_ref(id="c.root", scope="root")
        backend = make_backend(create_service_factory(ref, recording([], "root")))
        await backend.start()
        root = container_of(backend)._root
        assert {"c.root", "core.rootLogger", "core.rootLifecycle"} <= set(root)
        assert all(providers.is_provider(provider) for provider in root.values())

    async def test_plugin_metadata_is_provided_per_plugin(self, make_backend: MakeBackend) -> None:
        """Each plugin container provides its own core.pluginMetadata."""
        seen: list[PluginMetadataService] = []

        def init(meta: PluginMetadataService = inject(core_services.plugin_metadata)) -> None:
            seen.append(meta)

        backend = make_backend(plugin("a", init), plugin("b", init))
        await backend.start()
        plugins = container_of(backend)._plugins
        for plugin_id in ("a", "b"):
            metadata = plugins[plugin_id]["core.pluginMetadata"]()
            assert isinstance(metadata, PluginMetadata)
            assert metadata.get_id() == plugin_id


class TestOverrides:
    @pytest.mark.parametrize(
        ("scope", "plugin_id", "expected_seen", "expected_calls"),
        [
            ("root", None, {"a": "fake", "b": "fake"}, []),
            ("plugin", None, {"a": "fake", "b": "fake"}, []),
            ("plugin", "a", {"a": "fake", "b": "real"}, ["real"]),
        ],
        ids=["root-ref", "plugin-ref-everywhere", "plugin-ref-for-one-plugin"],
    )
    async def test_overriding_a_ref_before_start(
        self,
        make_backend: MakeBackend,
        scope: Literal["root", "plugin"],
        plugin_id: str | None,
        expected_seen: dict[str, str],
        expected_calls: list[str],
    ) -> None:
        """``container.override(ref, value[, plugin_id])`` replaces what the factory would give."""
        ref: ServiceRef[str] = create_service_ref(id=f"c.o.{scope}.{plugin_id}", scope=scope)
        calls: list[str] = []
        seen: dict[str, str] = {}
        backend = make_backend(
            create_service_factory(ref, recording(calls, "real")),
            consumer("a", ref, seen),
            consumer("b", ref, seen),
        )
        container_of(backend).override(ref, "fake", plugin_id=plugin_id)
        await backend.start()
        assert seen == expected_seen
        assert calls == expected_calls

    async def test_dependants_receive_the_override(self, make_backend: MakeBackend) -> None:
        """A factory depending on an overridden root ref is built with the fake."""
        root: ServiceRef[str] = create_service_ref(id="c.o.dep", scope="root")
        user: ServiceRef[str] = create_service_ref(id="c.o.user")

        def make_user(value: str = inject(root)) -> str:
            return f"user of {value}"

        seen: dict[str, str] = {}
        backend = make_backend(
            create_service_factory(root, recording([], "real")),
            create_service_factory(user, make_user),
            consumer("a", user, seen),
        )
        container_of(backend).override(root, "fake")
        await backend.start()
        assert seen == {"a": "user of fake"}

    async def test_overrides_are_reset_at_stop(self, make_backend: MakeBackend) -> None:
        """Stop resets every override, and another backend never sees them."""
        ref: ServiceRef[str] = create_service_ref(id="c.o.reset", scope="root")
        factory = create_service_factory(ref, recording([], "real"))
        seen: dict[str, str] = {}
        backend = make_backend(factory, consumer("a", ref, seen))
        container = container_of(backend)
        container.override(ref, "fake")
        other_seen: dict[str, str] = {}
        other = make_backend(factory, consumer("b", ref, other_seen))
        await other.start()
        await backend.start()
        provider = container._root["c.o.reset"]
        assert overridden(provider)
        await backend.stop()
        assert seen == {"a": "fake"}
        assert other_seen == {"b": "real"}
        assert not overridden(provider)
        assert container._overrides == {}
