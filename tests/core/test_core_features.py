"""Plugins and modules: ids, register callbacks and their registration points."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from core_support import module, noop, plugin
from hypothesis import given, settings
from hypothesis import strategies as st

from di_backend import (
    Backend,
    BackendModule,
    ExtensionPoint,
    ModuleRegistrationPoints,
    PluginRegistrationPoints,
    create_backend_module,
    create_backend_plugin,
    create_extension_point,
    inject,
)
from di_backend.errors import InvalidIdError, RegistrationError

MakeBackend = Callable[..., Backend]
RULE = (
    "must match the pattern /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/i "
    "(letters, digits, and dashes only, starting with a letter)"
)


class Registry:
    """An extension point implementation that collects names."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, name: str) -> None:
        """Collect a name."""
        self.names.append(name)


registry_ext: ExtensionPoint[Registry] = create_extension_point(id="features.registry")


class TestIds:
    @pytest.mark.parametrize(
        "plugin_id",
        ["test:invalid&id", "1abc", "a--b", "-abc", "abc-", "a b", "", "a.b", "ä"],
        ids=[
            "symbols",
            "digit-first",
            "double-dash",
            "dash-first",
            "dash-last",
            "space",
            "empty",
            "dot",
            "non-ascii",
        ],
    )
    def test_invalid_plugin_id_raises_at_creation(self, plugin_id: str) -> None:
        """A plugin id outside even the old pattern raises Backstage's message."""
        with pytest.raises(
            InvalidIdError, match=re.escape(f"Invalid pluginId '{plugin_id}', {RULE}")
        ):
            create_backend_plugin(plugin_id=plugin_id, register=lambda env: None)

    @pytest.mark.parametrize(
        "plugin_id",
        ["a", "todo", "Todo", "catalog-backend", "a1-b2-c3", "x9"],
        ids=["one-letter", "word", "upper-case", "dashed", "digits", "trailing-digit"],
    )
    def test_valid_plugin_ids_are_accepted(self, plugin_id: str) -> None:
        """Letters, digits and single dashes (case-insensitive) make a valid plugin id."""
        assert create_backend_plugin(plugin_id=plugin_id, register=lambda env: None).plugin_id == (
            plugin_id
        )

    def test_underscore_plugin_id_warns(self) -> None:
        """An id valid only under the old pattern is accepted with a DeprecationWarning."""
        message = (
            "WARNING: The pluginId 'my_plugin' will be invalid soon, please change it to "
            "match the pattern /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/i (letters, digits, and "
            "dashes only, starting with a letter)"
        )
        with pytest.warns(DeprecationWarning, match=re.escape(message)):
            created = create_backend_plugin(plugin_id="my_plugin", register=lambda env: None)
        assert created.plugin_id == "my_plugin"

    @pytest.mark.parametrize(
        "module_id",
        ["test:invalid&id", "9lives", "a__", ""],
        ids=["symbols", "digit-first", "trailing-underscores", "empty"],
    )
    def test_invalid_module_id_raises_at_creation(self, module_id: str) -> None:
        """A module id outside even the old pattern raises Backstage's message."""
        expected = f"Invalid moduleId '{module_id}' for plugin 'todo', {RULE}"
        with pytest.raises(InvalidIdError, match=re.escape(expected)):
            create_backend_module(plugin_id="todo", module_id=module_id, register=lambda env: None)

    def test_underscore_module_id_warns(self) -> None:
        """A module id with an underscore is accepted with a DeprecationWarning."""
        message = (
            "WARNING: The moduleId 'my_module' for plugin 'todo', will be invalid soon, please "
            "change it to match the pattern /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/i (letters, "
            "digits, and dashes only, starting with a letter)"
        )
        with pytest.warns(DeprecationWarning, match=re.escape(message)):
            created = create_backend_module(
                plugin_id="todo", module_id="my_module", register=lambda env: None
            )
        assert created.module_id == "my_module"

    def test_module_plugin_id_is_not_validated(self) -> None:
        """A module's plugin id is not checked, as in Backstage."""
        created = create_backend_module(
            plugin_id="Not valid!", module_id="m", register=lambda env: None
        )
        assert created.plugin_id == "Not valid!"

    @pytest.mark.parametrize(
        "plugin_id",
        ["catalog\n", "\u017fecret", "\u212aelvin", "\u0131d", "\u0130d", "a-\u017f"],
        ids=["trailing-newline", "long-s", "kelvin-sign", "dotless-i", "dotted-i", "long-s-part"],
    )
    def test_ids_python_regexes_would_accept_are_refused_as_in_javascript(
        self, plugin_id: str
    ) -> None:
        """A trailing newline or a non-ASCII letter that folds to a-z is no valid id."""
        with pytest.raises(InvalidIdError, match="Invalid pluginId"):
            create_backend_plugin(plugin_id=plugin_id, register=lambda env: None)
        with pytest.raises(InvalidIdError, match="Invalid moduleId"):
            create_backend_module(plugin_id="todo", module_id=plugin_id, register=lambda env: None)

    @settings(max_examples=400, deadline=None)
    @given(st.text(alphabet="aZk09-_ .\n\u017f\u212a\u0131\u00e4", max_size=8) | st.text())
    def test_id_check_agrees_with_backstages_javascript_patterns(self, value: str) -> None:
        """An id is valid, warned or refused exactly as Backstage's two /i patterns decide."""
        part = "[A-Za-z0-9]+"
        new_style = re.fullmatch(f"[A-Za-z][A-Za-z0-9]*(?:-{part})*", value)
        old_style = re.fullmatch(f"[A-Za-z][A-Za-z0-9]*(?:[-_]{part})*", value)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                create_backend_plugin(plugin_id=value, register=lambda env: None)
            except InvalidIdError:
                outcome = "refused"
            else:
                outcome = "warned" if caught else "valid"
        expected = "valid" if new_style else "warned" if old_style else "refused"
        assert outcome == expected

    def test_invalid_id_error_is_a_value_error(self) -> None:
        """``InvalidIdError`` can be caught as ``ValueError``."""
        with pytest.raises(ValueError, match="Invalid pluginId"):
            create_backend_plugin(plugin_id="-", register=lambda env: None)


class TestRegister:
    async def test_register_runs_at_start_not_at_creation(self, make_backend: MakeBackend) -> None:
        """``register`` is called when the backend reads its features, at start."""
        calls: list[str] = []

        def register(env: PluginRegistrationPoints) -> None:
            calls.append("register")
            env.register_init(noop)

        created = create_backend_plugin(plugin_id="p", register=register)
        backend = make_backend(created)
        assert calls == []
        await backend.start()
        assert calls[0] == "register"

    async def test_missing_register_init_of_plugin_fails_start(
        self, make_backend: MakeBackend
    ) -> None:
        """A plugin whose register does not call register_init fails start, nothing runs."""
        ran: list[str] = []
        created = create_backend_plugin(plugin_id="todo", register=lambda env: None)
        backend = make_backend(plugin("other", lambda: ran.append("other")), created)
        with pytest.raises(
            RegistrationError, match=re.escape("register_init was not called by register in todo")
        ):
            await backend.start()
        assert ran == []

    async def test_missing_register_init_of_module_fails_start(
        self, make_backend: MakeBackend
    ) -> None:
        """A module whose register does not call register_init fails start, nothing runs."""
        ran: list[str] = []
        created = create_backend_module(plugin_id="todo", module_id="gh", register=lambda env: None)
        backend = make_backend(plugin("todo", lambda: ran.append("todo")), created)
        with pytest.raises(
            RegistrationError,
            match=re.escape("register_init was not called by register in gh module for todo"),
        ):
            await backend.start()
        assert ran == []

    async def test_register_init_twice_fails_start(self, make_backend: MakeBackend) -> None:
        """Calling register_init twice raises Backstage's message at start."""

        def register(env: PluginRegistrationPoints) -> None:
            env.register_init(noop)
            env.register_init(noop)

        backend = make_backend(create_backend_plugin(plugin_id="p", register=register))
        with pytest.raises(
            RegistrationError, match=re.escape("register_init must only be called once")
        ):
            await backend.start()

    async def test_extension_point_after_init_fails_start(self, make_backend: MakeBackend) -> None:
        """register_extension_point after register_init raises Backstage's message."""

        def register(env: ModuleRegistrationPoints) -> None:
            env.register_init(noop)
            env.register_extension_point(registry_ext, Registry())

        created = create_backend_module(plugin_id="p", module_id="m", register=register)
        with pytest.raises(
            RegistrationError,
            match=re.escape("register_extension_point called after register_init"),
        ):
            await make_backend(plugin("p", noop), created).start()

    async def test_register_errors_propagate_unwrapped(self, make_backend: MakeBackend) -> None:
        """An exception raised inside register rejects start with its own type and message."""

        class Boom(Exception):
            pass

        def register(env: PluginRegistrationPoints) -> None:
            raise Boom("exploded in register")

        created = create_backend_plugin(plugin_id="p", register=register)
        with pytest.raises(Boom, match=r"^exploded in register$"):
            await make_backend(created).start()

    async def test_register_extension_point_rejects_non_extension_points(
        self, make_backend: MakeBackend
    ) -> None:
        """register_extension_point with something that is not an extension point raises."""
        not_an_extension_point: Any = "features.registry"

        def register(env: PluginRegistrationPoints) -> None:
            env.register_extension_point(not_an_extension_point, Registry())
            env.register_init(noop)

        created = create_backend_plugin(plugin_id="p", register=register)
        with pytest.raises(TypeError, match="register_extension_point expects an extension point"):
            await make_backend(created).start()


class TestExtensionPoints:
    async def test_modules_receive_the_registered_object(self, make_backend: MakeBackend) -> None:
        """A module injecting an extension point gets the very object the plugin registered."""
        registry = Registry()
        received: list[Registry] = []

        def register(env: PluginRegistrationPoints) -> None:
            env.register_extension_point(registry_ext, registry)
            env.register_init(noop)

        async def init(ext: Registry = inject(registry_ext)) -> None:
            received.append(ext)

        created = create_backend_plugin(plugin_id="p", register=register)
        await make_backend(created, module("p", "m", init)).start()
        assert received == [registry]
        assert received[0] is registry

    async def test_modules_may_provide_extension_points(self, make_backend: MakeBackend) -> None:
        """A module may register an extension point that other modules of its plugin consume."""
        registry = Registry()
        seen: list[list[str]] = []

        def register_provider(env: ModuleRegistrationPoints) -> None:
            env.register_extension_point(registry_ext, registry)

            def init() -> None:
                seen.append(list(registry.names))

            env.register_init(init)

        def consumer(name: str) -> BackendModule:
            def init(ext: Registry = inject(registry_ext)) -> None:
                ext.add(name)

            return module("p", name, init)

        provider = create_backend_module(
            plugin_id="p", module_id="provider", register=register_provider
        )
        await make_backend(consumer("a"), provider, consumer("b"), plugin("p", noop)).start()
        assert sorted(seen[0]) == ["a", "b"]

    async def test_plugin_init_rejects_extension_point_dependencies(
        self, make_backend: MakeBackend
    ) -> None:
        """A plugin init that injects an extension point is rejected with Backstage's message."""
        ran: list[str] = []

        def register(env: PluginRegistrationPoints) -> None:
            env.register_extension_point(registry_ext, Registry())

            def init(ext: Registry = inject(registry_ext)) -> None:
                ran.append("plugin")

            env.register_init(init)

        created = create_backend_plugin(plugin_id="p", register=register)
        expected = (
            "Rejected dependency on extension point features.registry from outside of a module"
        )
        with pytest.raises(RegistrationError, match=re.escape(expected)):
            await make_backend(created, plugin("other", lambda: ran.append("other"))).start()
        assert ran == []


async def test_a_module_whose_plugin_is_not_installed_is_named_in_a_warning() -> None:
    """The start log lists only installed plugins and warns about the orphan module."""
    from di_backend import core_services, create_service_factory, create_specialized_backend
    from di_backend.testing import MockLogger

    logger = MockLogger()
    backend = create_specialized_backend(
        default_service_factories=[
            create_service_factory(core_services.root_logger, lambda: logger)
        ]
    )
    backend.add(plugin("todo", lambda: None))
    backend.add(module("todoo", "github", lambda: None))
    await backend.start()
    await backend.stop()
    assert "Plugin initialization started: 'todo'" in logger.messages("info")
    assert logger.messages("warn") == [
        "Module 'github' for plugin 'todoo' is not started: no plugin 'todoo' is installed "
        "(installed plugins: 'todo'); check the module's plugin_id, or add the plugin"
    ]
