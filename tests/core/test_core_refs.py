"""Service refs and extension points: typed, immutable, hashable keys."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from di_backend import (
    Backend,
    ExtensionPoint,
    ModuleRegistrationPoints,
    MultitonServiceRef,
    PluginRegistrationPoints,
    Scope,
    ServiceFactory,
    ServiceRef,
    create_backend_module,
    create_backend_plugin,
    create_extension_point,
    create_service_factory,
    create_service_ref,
)


class Store:
    """A service type for the refs below."""


store_ref: ServiceRef[Store] = create_service_ref(id="todo.store")
root_ref: ServiceRef[Store] = create_service_ref(id="todo.root", scope="root")
multi_ref: MultitonServiceRef[Store] = create_service_ref(id="todo.actions", multiton=True)
ext_ref: ExtensionPoint[Store] = create_extension_point(id="todo.extension")


other_id: ServiceRef[Store] = create_service_ref(id="todo.other")
other_scope: ServiceRef[Store] = create_service_ref(id="todo.store", scope="root")
same_id_multiton: MultitonServiceRef[Store] = create_service_ref(id="todo.store", multiton=True)
same_id_extension: ExtensionPoint[Store] = create_extension_point(id="todo.store")
OTHER_KEYS: list[object] = [
    other_id,
    other_scope,
    same_id_multiton,
    same_id_extension,
    "todo.store",
]


class TestServiceRef:
    def test_prints_as_service_ref_with_its_id(self) -> None:
        """A service ref prints as ``serviceRef{<id>}`` with str and repr."""
        assert str(store_ref) == "serviceRef{todo.store}"
        assert repr(store_ref) == "serviceRef{todo.store}"
        assert f"{multi_ref}" == "serviceRef{todo.actions}"

    def test_exposes_id_scope_and_multiton(self) -> None:
        """A ref exposes ``.id``, ``.scope`` (a str enum) and ``.multiton``."""
        assert store_ref.id == "todo.store"
        plugin_scope: str = store_ref.scope
        root_scope: str = root_ref.scope
        assert store_ref.scope is Scope.PLUGIN
        assert plugin_scope == "plugin"
        assert root_scope == "root"
        assert store_ref.multiton is False
        assert multi_ref.multiton is True

    def test_scope_defaults_to_plugin(self) -> None:
        """Without ``scope`` a service ref is plugin scoped, as in Backstage."""
        ref: ServiceRef[int] = create_service_ref(id="x.default")
        assert ref.scope is Scope.PLUGIN

    def test_scope_accepts_the_enum(self) -> None:
        """``scope`` may be given as the ``Scope`` enum as well as the string."""
        ref: ServiceRef[int] = create_service_ref(id="x.enum", scope=Scope.ROOT)
        assert ref.scope is Scope.ROOT

    def test_multiton_true_makes_a_multiton_ref(self) -> None:
        """``multiton=True`` returns a ``MultitonServiceRef``, otherwise a ``ServiceRef``."""
        multi: object = multi_ref
        single: object = store_ref
        assert not isinstance(multi, ServiceRef)
        assert isinstance(multi, MultitonServiceRef)
        assert not isinstance(single, MultitonServiceRef)
        assert isinstance(single, ServiceRef)

    @pytest.mark.parametrize(
        ("name", "value"),
        [("id", "other"), ("scope", "root"), ("multiton", True), ("_id", "other")],
        ids=["id", "scope", "multiton", "private-id"],
    )
    def test_is_immutable(self, name: str, value: object) -> None:
        """Assigning any attribute of a service ref raises ``AttributeError``."""
        with pytest.raises(AttributeError):
            setattr(store_ref, name, value)
        assert store_ref.id == "todo.store"
        assert str(store_ref.scope) == "plugin"

    def test_cannot_grow_attributes(self) -> None:
        """A service ref rejects new attributes too."""
        with pytest.raises(AttributeError):
            store_ref.extra = 1

    def test_equal_refs_hash_alike(self) -> None:
        """Two refs with the same id and scope are equal and hash alike (usable as keys)."""
        again: ServiceRef[Store] = create_service_ref(id="todo.store")
        assert again == store_ref
        assert hash(again) == hash(store_ref)
        assert {store_ref: 1}[again] == 1

    @pytest.mark.parametrize(
        "other",
        OTHER_KEYS,
        ids=["other-id", "other-scope", "multiton", "extension-point", "string"],
    )
    def test_differs_from_other_keys(self, other: object) -> None:
        """A ref differs from refs with another id, scope or kind, and from its id string."""
        assert store_ref != other

    def test_carries_its_default_factory(self) -> None:
        """``default_factory`` is kept on the ref and defaults to ``None``."""

        def default(ref: ServiceRef[int]) -> ServiceFactory[int]:
            return create_service_factory(ref, lambda: 1)

        ref: ServiceRef[int] = create_service_ref(id="x.df", default_factory=default)
        assert ref.default_factory is default
        assert store_ref.default_factory is None

    @pytest.mark.parametrize("bad", ["", 1, None], ids=["empty", "int", "none"])
    def test_rejects_an_id_that_is_not_a_non_empty_string(self, bad: Any) -> None:
        """A service ref id must be a non-empty string."""
        with pytest.raises(TypeError, match="A service ref id must be a non-empty string"):
            create_service_ref(id=bad)


class TestExtensionPoint:
    def test_prints_as_extension_point_with_its_id(self) -> None:
        """An extension point prints as ``extensionPoint{<id>}``."""
        assert str(ext_ref) == "extensionPoint{todo.extension}"
        assert repr(ext_ref) == "extensionPoint{todo.extension}"

    def test_exposes_its_id(self) -> None:
        """An extension point exposes ``.id``."""
        assert ext_ref.id == "todo.extension"

    def test_is_immutable(self) -> None:
        """Assigning to an extension point raises ``AttributeError``."""
        with pytest.raises(AttributeError):
            ext_ref.id = "x"  # type: ignore[misc]
        with pytest.raises(AttributeError):
            ext_ref._id = "x"
        assert ext_ref.id == "todo.extension"

    def test_equal_extension_points_hash_alike(self) -> None:
        """Extension points with the same id are equal and hash alike."""
        again: ExtensionPoint[Store] = create_extension_point(id="todo.extension")
        assert again == ext_ref
        assert hash(again) == hash(ext_ref)
        assert len({again, ext_ref}) == 1

    def test_differs_by_id(self) -> None:
        """Extension points with different ids are not equal."""
        other: ExtensionPoint[Store] = create_extension_point(id="todo.other")
        assert other != ext_ref

    def test_rejects_an_empty_id(self) -> None:
        """An extension point id must be a non-empty string."""
        with pytest.raises(
            TypeError, match=re.escape("An extension point id must be a non-empty string")
        ):
            create_extension_point(id="")


class TestRealClasses:
    def test_factories_are_service_factory_instances(self) -> None:
        """``create_service_factory`` returns a ``ServiceFactory`` holding its ref."""
        factory = create_service_factory(store_ref, Store)
        assert isinstance(factory, ServiceFactory)
        assert factory.service is store_ref

    async def test_register_receives_registration_point_instances(
        self, make_backend: Callable[..., Backend]
    ) -> None:
        """Plugins get ``PluginRegistrationPoints`` and modules ``ModuleRegistrationPoints``."""
        received: list[object] = []

        def register_plugin(env: PluginRegistrationPoints) -> None:
            received.append(env)
            env.register_init(lambda: None)

        def register_module(env: ModuleRegistrationPoints) -> None:
            received.append(env)
            env.register_init(lambda: None)

        plugin = create_backend_plugin(plugin_id="p", register=register_plugin)
        module = create_backend_module(plugin_id="p", module_id="m", register=register_module)
        await make_backend(plugin, module).start()
        assert isinstance(received[0], PluginRegistrationPoints)
        assert isinstance(received[1], ModuleRegistrationPoints)
        assert not isinstance(received[1], PluginRegistrationPoints)
