"""Feature loaders and import strings: features that produce more features at start."""

from __future__ import annotations

import re
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from core_support import Init

from di_backend import (
    Backend,
    BackendFeature,
    BackendFeatureLoader,
    BackendPlugin,
    ExtensionPoint,
    MultitonServiceRef,
    PluginRegistrationPoints,
    ServiceRef,
    core_services,
    create_backend_feature_loader,
    create_backend_plugin,
    create_extension_point,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend.errors import (
    BackendStateError,
    CircularDependencyError,
    ConflictError,
    ForwardedError,
    InvalidDependencyError,
    InvalidFeatureError,
    MissingDependencyError,
)
from di_backend.services import LoggerService, RootConfigService, RootInstanceMetadataService

MakeBackend = Callable[..., Backend]


def plugin(plugin_id: str, init: Init | None = None) -> BackendPlugin:
    """A plugin registering ``init`` (a no-op by default)."""

    def register(env: PluginRegistrationPoints) -> None:
        env.register_init(init or (lambda: None))

    return create_backend_plugin(plugin_id=plugin_id, register=register)


def started(result_plugins: tuple[object, ...]) -> list[str]:
    """The sorted plugin ids of a startup result."""
    return sorted(getattr(p, "plugin_id") for p in result_plugins)  # noqa: B009


def line_of_next_statement(offset: int = 1) -> str:
    """``<file>:<line>`` of the caller's line ``offset`` lines down (where a loader is made)."""
    frame = sys._getframe(1)
    return f"{frame.f_code.co_filename}:{frame.f_lineno + offset}"


class TestLoaderOutput:
    async def test_loader_description_names_where_it_was_created(self) -> None:
        """A loader is described as ``feature loader created at '<file>:<line>'``."""

        def nothing() -> list[BackendFeature]:
            return []

        site = line_of_next_statement()
        loader = create_backend_feature_loader(nothing)
        assert loader.description == f"feature loader created at '{site}'"
        assert isinstance(loader, BackendFeatureLoader)

    @staticmethod
    def as_list() -> list[BackendFeature]:
        return [plugin("a"), plugin("b")]

    @staticmethod
    def as_tuple() -> tuple[BackendFeature, ...]:
        return (plugin("a"), plugin("b"))

    @staticmethod
    def as_generator() -> Iterator[BackendFeature]:
        yield plugin("a")
        yield plugin("b")

    @staticmethod
    async def as_async_generator() -> AsyncIterator[BackendFeature]:
        yield plugin("a")
        yield plugin("b")

    @staticmethod
    async def as_coroutine() -> list[BackendFeature]:
        return [plugin("a"), plugin("b")]

    @pytest.mark.parametrize(
        "kind",
        ["as_list", "as_tuple", "as_generator", "as_async_generator", "as_coroutine"],
        ids=["list", "tuple", "generator", "async-generator", "async-def"],
    )
    async def test_loaders_may_return_or_yield_features(
        self, make_backend: MakeBackend, kind: str
    ) -> None:
        """A loader may return an iterable or awaitable list, or be a (sync or async) generator."""
        loader = create_backend_feature_loader(getattr(self, kind))
        result = await make_backend(loader).start()
        assert started(result.plugins) == ["a", "b"]

    async def test_loaders_may_return_loaders(self, make_backend: MakeBackend) -> None:
        """A loader's output may contain further loaders, which are applied too."""

        def inner() -> list[BackendFeature]:
            return [plugin("inner")]

        def outer() -> list[BackendFeature]:
            return [plugin("outer"), create_backend_feature_loader(inner)]

        result = await make_backend(create_backend_feature_loader(outer)).start()
        assert started(result.plugins) == ["inner", "outer"]

    async def test_loaders_receive_root_services(self, make_backend: MakeBackend) -> None:
        """A loader's ``inject`` parameters receive root services, e.g. the config."""

        def load(
            config: RootConfigService = inject(core_services.root_config),
        ) -> list[BackendFeature]:
            return [plugin(name) for name in config.get_string("plugins").split(",")]

        backend = make_backend(create_backend_feature_loader(load), config={"plugins": "x,y"})
        result = await backend.start()
        assert started(result.plugins) == ["x", "y"]

    async def test_loader_factories_serve_plugins(self, make_backend: MakeBackend) -> None:
        """A service factory returned by a loader is installed like an added one."""
        ref: ServiceRef[str] = create_service_ref(id="l.svc")
        seen: list[str] = []

        def init(value: str = inject(ref)) -> None:
            seen.append(value)

        def load() -> list[BackendFeature]:
            return [create_service_factory(ref, lambda: "loaded"), plugin("p", init)]

        await make_backend(create_backend_feature_loader(load)).start()
        assert seen == ["loaded"]

    async def test_explicit_factory_silently_beats_loader(self, make_backend: MakeBackend) -> None:
        """A factory added with ``add`` wins over a loader's, without an error."""
        ref: ServiceRef[str] = create_service_ref(id="l.win")
        seen: list[str] = []

        def init(value: str = inject(ref)) -> None:
            seen.append(value)

        def load() -> list[BackendFeature]:
            return [create_service_factory(ref, lambda: "loader")]

        backend = make_backend(
            create_backend_feature_loader(load),
            create_backend_feature_loader(load),
            create_service_factory(ref, lambda: "explicit"),
            plugin("p", init),
        )
        await backend.start()
        assert seen == ["explicit"]

    async def test_multiton_factories_from_loaders_are_always_added(
        self, make_backend: MakeBackend
    ) -> None:
        """Multiton factories from several loaders and ``add`` are all collected."""
        ref: MultitonServiceRef[str] = create_service_ref(id="l.multi", multiton=True)
        seen: list[list[str]] = []

        def init(values: list[str] = inject(ref)) -> None:
            seen.append(values)

        def load_one() -> list[BackendFeature]:
            return [create_service_factory(ref, lambda: "one")]

        def load_two() -> list[BackendFeature]:
            return [create_service_factory(ref, lambda: "two")]

        backend = make_backend(
            create_backend_feature_loader(load_one),
            create_backend_feature_loader(load_two),
            create_service_factory(ref, lambda: "explicit"),
            plugin("p", init),
        )
        await backend.start()
        assert sorted(seen[0]) == ["explicit", "one", "two"]

    async def test_loader_factories_are_checked_for_cycles(self, make_backend: MakeBackend) -> None:
        """Factories added by a loader are checked for cycles before anything runs."""
        a: ServiceRef[str] = create_service_ref(id="l.a", scope="root")
        b: ServiceRef[str] = create_service_ref(id="l.b", scope="root")

        def make_a(dep: str = inject(b)) -> str:
            return dep

        def make_b(dep: str = inject(a)) -> str:
            return dep

        def load() -> list[BackendFeature]:
            return [create_service_factory(a, make_a), create_service_factory(b, make_b)]

        with pytest.raises(
            CircularDependencyError,
            match=re.escape("Circular dependencies detected:\n  'l.a' -> 'l.b' -> 'l.a'"),
        ):
            await make_backend(create_backend_feature_loader(load)).start()


class TestLoaderErrors:
    def test_loaders_may_only_depend_on_root_services(self) -> None:
        """A loader depending on a plugin service is rejected at creation (message 26)."""

        def load(logger: LoggerService = inject(core_services.logger)) -> list[BackendFeature]:
            return []

        site = line_of_next_statement(offset=2)
        with pytest.raises(InvalidDependencyError) as caught:
            create_backend_feature_loader(load)
        assert str(caught.value) == (
            "Feature loaders can only depend on root scoped services, but 'logger' is scoped "
            f"to 'plugin'. Offending loader is created at '{site}'"
        )

    def test_loaders_may_not_depend_on_extension_points(self) -> None:
        """A loader depending on an extension point is rejected at creation."""
        ext: ExtensionPoint[object] = create_extension_point(id="l.ext")

        def load(value: object = inject(ext)) -> list[BackendFeature]:
            return []

        with pytest.raises(
            InvalidDependencyError,
            match=re.escape("Feature loaders can only depend on root scoped services, but 'value'"),
        ):
            create_backend_feature_loader(load)

    async def test_missing_loader_dependencies_fail_start(self, make_backend: MakeBackend) -> None:
        """A loader's root dependency that nothing provides fails start (message 27)."""
        ref: ServiceRef[str] = create_service_ref(id="l.none", scope="root")

        def load(value: str = inject(ref)) -> list[BackendFeature]:
            return []

        site = line_of_next_statement()
        loader = create_backend_feature_loader(load)
        with pytest.raises(MissingDependencyError) as caught:
            await make_backend(loader).start()
        assert str(caught.value) == (
            "No service available for the following ref(s): serviceRef{l.none}, depended on by "
            f"feature loader created at '{site}'"
        )

    async def test_loaders_run_before_instance_metadata_exists(
        self, make_backend: MakeBackend
    ) -> None:
        """Root instance metadata is added after loaders ran, so a loader cannot depend on it."""

        def load(
            meta: RootInstanceMetadataService = inject(core_services.root_instance_metadata),
        ) -> list[BackendFeature]:
            return []

        site = line_of_next_statement()
        loader = create_backend_feature_loader(load)
        with pytest.raises(MissingDependencyError) as caught:
            await make_backend(loader).start()
        assert str(caught.value) == (
            "No service available for the following ref(s): "
            "serviceRef{core.rootInstanceMetadata}, depended on by "
            f"feature loader created at '{site}'"
        )

    async def test_loader_errors_are_forwarded(self, make_backend: MakeBackend) -> None:
        """An error raised by a loader fails start as a ForwardedError (message 28)."""
        error = RuntimeError("boom")

        def load() -> list[BackendFeature]:
            raise error

        site = line_of_next_statement()
        loader = create_backend_feature_loader(load)
        with pytest.raises(ForwardedError) as caught:
            await make_backend(loader).start()
        assert str(caught.value) == (
            f"Feature loader created at '{site}' failed; caused by RuntimeError: boom"
        )
        assert caught.value.cause is error

    async def test_errors_while_iterating_a_generator_are_forwarded(
        self, make_backend: MakeBackend
    ) -> None:
        """An error raised half-way through a generator loader is forwarded as well."""

        def load() -> Iterator[BackendFeature]:
            yield plugin("a")
            raise ValueError("half-way")

        with pytest.raises(ForwardedError, match=r"failed; caused by ValueError: half-way$"):
            await make_backend(create_backend_feature_loader(load)).start()

    async def test_two_loaders_providing_one_service_fail_start(
        self, make_backend: MakeBackend
    ) -> None:
        """Two loaders with a factory for one singleton ref fail start (message 29)."""
        ref: ServiceRef[str] = create_service_ref(id="l.dup")

        def load() -> list[BackendFeature]:
            return [create_service_factory(ref, lambda: "x")]

        first_site = line_of_next_statement()
        first = create_backend_feature_loader(load)
        second_site = line_of_next_statement()
        second = create_backend_feature_loader(load)
        with pytest.raises(ConflictError) as caught:
            await make_backend(first, second).start()
        assert str(caught.value) == (
            "Duplicate service implementations provided for l.dup by both feature loader "
            f"created at '{second_site}' and feature loader created at '{first_site}'"
        )

    async def test_loader_cannot_replace_an_instantiated_service(
        self, make_backend: MakeBackend
    ) -> None:
        """A loader's factory for a service already instantiated fails start (message 16)."""
        ref: ServiceRef[str] = create_service_ref(id="l.used", scope="root")

        def load(value: str = inject(ref)) -> list[BackendFeature]:
            return [create_service_factory(ref, lambda: "replacement")]

        backend = make_backend(
            create_backend_feature_loader(load), defaults=[create_service_factory(ref, lambda: "v")]
        )
        with pytest.raises(
            BackendStateError,
            match=re.escape(
                "Unable to set service factory with id l.used, service has already been "
                "instantiated"
            ),
        ):
            await backend.start()

    async def test_invalid_items_fail_start(self, make_backend: MakeBackend) -> None:
        """A loader item that is neither a feature nor an import string fails start."""

        def load() -> list[object]:
            return [plugin("a"), 42]

        untyped: Callable[..., Any] = load
        loader = create_backend_feature_loader(untyped)
        with pytest.raises(InvalidFeatureError, match=r'^Invalid item "42" returned by feature'):
            await make_backend(loader).start()

    async def test_output_that_is_not_iterable_fails_start(self, make_backend: MakeBackend) -> None:
        """A loader returning something that is not a list of features fails start."""
        not_features: Callable[..., Any] = lambda: 42  # noqa: E731
        site = line_of_next_statement()
        loader = create_backend_feature_loader(not_features)
        with pytest.raises(InvalidFeatureError) as caught:
            await make_backend(loader).start()
        assert str(caught.value) == (
            f"Invalid backend feature at feature loader created at '{site}' -> loader output, "
            "expected an array of backend features, received 42"
        )


PACKAGE_FILES = {
    "features.py": """
        from di_backend import create_backend_plugin

        def _register(env):
            env.register_init(lambda: None)

        default = create_backend_plugin(plugin_id="by-default", register=_register)
        named = create_backend_plugin(plugin_id="by-name", register=_register)

        class group:
            nested = create_backend_plugin(plugin_id="by-path", register=_register)

        not_a_feature = 42
    """,
    "__init__.py": """
        from di_backend import create_backend_plugin

        default = create_backend_plugin(
            plugin_id="package-default", register=lambda env: env.register_init(lambda: None)
        )
    """,
    "nodefault.py": "value = 1\n",
}


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh importable package (its name is returned) with the files above."""
    name = f"core_loader_pkg_{uuid.uuid4().hex}"
    root = tmp_path / name
    root.mkdir()
    for file_name, text in PACKAGE_FILES.items():
        (root / file_name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))  # pyright: ignore[reportUnknownMemberType]
    yield name
    for module_name in [m for m in sys.modules if m.startswith(name)]:
        del sys.modules[module_name]


class TestImportStrings:
    @pytest.mark.parametrize(
        ("suffix", "plugin_id"),
        [
            (".features", "by-default"),
            (".features:named", "by-name"),
            (".features:group.nested", "by-path"),
            ("", "package-default"),
        ],
        ids=["module-default", "module-attr", "dotted-attr", "package-default"],
    )
    async def test_import_strings_add_the_named_feature(
        self, make_backend: MakeBackend, package: str, suffix: str, plugin_id: str
    ) -> None:
        """``"pkg.mod"`` adds its ``default``, ``"pkg.mod:attr"`` that attribute."""
        result = await make_backend(f"{package}{suffix}").start()
        assert started(result.plugins) == [plugin_id]

    async def test_loaders_may_return_import_strings(
        self, make_backend: MakeBackend, package: str
    ) -> None:
        """A loader's output may contain import strings."""

        def load() -> list[str]:
            return [f"{package}.features:named", package]

        result = await make_backend(create_backend_feature_loader(load)).start()
        assert started(result.plugins) == ["by-name", "package-default"]

    async def test_unknown_module_fails_start(
        self, make_backend: MakeBackend, package: str
    ) -> None:
        """An import string naming a module that does not exist fails start."""
        with pytest.raises(
            InvalidFeatureError, match=re.escape(f"Could not import '{package}.missing'")
        ):
            await make_backend(f"{package}.missing").start()

    async def test_module_without_default_fails_start(
        self, make_backend: MakeBackend, package: str
    ) -> None:
        """A module added by name without a ``default`` fails start with a hint."""
        with pytest.raises(InvalidFeatureError) as caught:
            await make_backend(f"{package}.nodefault").start()
        assert str(caught.value) == (
            f"Module '{package}.nodefault' has no attribute 'default' for features[0] "
            f"'{package}.nodefault' (a module added by name must define `default`)"
        )

    async def test_unknown_attribute_fails_start(
        self, make_backend: MakeBackend, package: str
    ) -> None:
        """An import string naming a missing attribute fails start."""
        with pytest.raises(InvalidFeatureError, match="has no attribute 'absent'"):
            await make_backend(f"{package}.features:absent").start()

    async def test_attribute_that_is_not_a_feature_fails_start(
        self, make_backend: MakeBackend, package: str
    ) -> None:
        """An import string naming something that is not a feature fails start."""
        with pytest.raises(InvalidFeatureError) as caught:
            await make_backend(plugin("ok"), f"{package}.features:not_a_feature").start()
        assert str(caught.value) == (
            "Invalid backend feature at features[1], expected a service factory, plugin, module, "
            "feature loader or import string, received 42"
        )
