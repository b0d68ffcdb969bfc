"""``inject(ref)`` parameter defaults and the errors for functions the container cannot call."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import pytest
from core_support import plugin

from di_backend import (
    Backend,
    BackendPlugin,
    ServiceRef,
    core_services,
    create_backend_feature_loader,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend._inject import Dependency
from di_backend.errors import InvalidDependencyError
from di_backend.services import LoggerService, PluginMetadataService

MakeBackend = Callable[..., Backend]

number_ref: ServiceRef[int] = create_service_ref(id="inject.number")


def qualname(func: Callable[..., object]) -> str:
    """How messages name a function: ``module.qualname``."""
    return f"{func.__module__}.{func.__qualname__}"


class TestInject:
    @pytest.mark.parametrize(
        "bad", ["core.logger", 42, None, object()], ids=["string", "int", "none", "object"]
    )
    def test_inject_rejects_non_refs(self, bad: Any) -> None:
        """``inject`` of something that is not a ref raises ``TypeError`` at once."""
        with pytest.raises(
            TypeError, match=r"^inject\(\) expects a service ref or an extension point, got "
        ):
            inject(bad)

    async def test_injected_parameters_receive_services(self, make_backend: MakeBackend) -> None:
        """Each ``inject(ref)`` parameter receives that ref's instance, by name."""
        seen: dict[str, object] = {}

        async def init(
            number: int = inject(number_ref),
            metadata: PluginMetadataService = inject(core_services.plugin_metadata),
            *,
            logger: LoggerService = inject(core_services.logger),
        ) -> None:
            seen.update(number=number, plugin=metadata.get_id(), logger=logger)

        backend = make_backend(plugin("p", init), create_service_factory(number_ref, lambda: 7))
        await backend.start()
        assert seen["number"] == 7
        assert seen["plugin"] == "p"
        assert isinstance(seen["logger"], LoggerService)

    @pytest.mark.parametrize("is_async", [False, True], ids=["def", "async-def"])
    async def test_functions_without_parameters_are_valid(
        self, make_backend: MakeBackend, is_async: bool
    ) -> None:
        """Inits and factories with no parameters (no dependencies) are valid, sync or async."""
        ran: list[str] = []

        def sync_init() -> None:
            ran.append("init")

        async def async_init() -> None:
            ran.append("init")

        def make_number() -> int:
            ran.append("factory")
            return 1

        async def use(number: int = inject(number_ref)) -> None:
            ran.append(f"used {number}")

        backend = make_backend(
            plugin("p", async_init if is_async else sync_init),
            plugin("q", use),
            create_service_factory(number_ref, make_number),
        )
        await backend.start()
        assert sorted(ran) == ["factory", "init", "used 1"]

    async def test_bound_methods_are_valid(self, make_backend: MakeBackend) -> None:
        """A bound method works as an init; ``self`` is not a dependency."""
        ran: list[int] = []

        class Holder:
            def init(self, number: int = inject(number_ref)) -> None:
                ran.append(number)

        backend = make_backend(
            plugin("p", Holder().init), create_service_factory(number_ref, lambda: 3)
        )
        await backend.start()
        assert ran == [3]

    async def test_partials_are_valid(self, make_backend: MakeBackend) -> None:
        """A ``functools.partial`` whose remaining parameters are injected works as an init."""
        ran: list[tuple[str, int]] = []

        def init(tag: str, number: int = inject(number_ref)) -> None:
            ran.append((tag, number))

        backend = make_backend(
            plugin("p", functools.partial(init, "tag")),
            create_service_factory(number_ref, lambda: 4),
        )
        await backend.start()
        assert ran == [("tag", 4)]


class TestParameterErrors:
    async def test_init_parameter_without_inject_names_function_and_parameter(
        self, make_backend: MakeBackend
    ) -> None:
        """An init parameter without ``inject(...)`` fails start naming the function and it."""

        def init(count: int) -> None:
            raise AssertionError("never called")

        with pytest.raises(InvalidDependencyError) as caught:
            await make_backend(plugin("p", init)).start()
        message = str(caught.value)
        assert message.startswith(
            f"Parameter 'count' of the init of plugin 'p' '{qualname(init)}' has no inject(...)"
        )

    def test_factory_parameter_without_inject_raises_at_creation(self) -> None:
        """A factory parameter without ``inject(...)`` raises when the factory is created."""

        def make(count: int) -> int:
            return count

        untyped: Callable[..., int] = make
        with pytest.raises(InvalidDependencyError) as caught:
            create_service_factory(number_ref, untyped)
        assert (
            f"Parameter 'count' of the service factory for 'inject.number' '{qualname(make)}'"
            in (str(caught.value))
        )

    def test_loader_parameter_without_inject_raises_at_creation(self) -> None:
        """A feature loader parameter without ``inject(...)`` raises at creation."""

        def load(config: object) -> list[BackendPlugin]:
            return []

        untyped: Callable[..., list[BackendPlugin]] = load
        with pytest.raises(InvalidDependencyError) as caught:
            create_backend_feature_loader(untyped)
        assert "Parameter 'config'" in str(caught.value)
        assert qualname(load) in str(caught.value)

    def test_keyword_only_parameter_without_inject_is_rejected(self) -> None:
        """A keyword-only parameter without ``inject(...)`` is rejected as well."""

        def make(*, count: int) -> int:
            return count

        untyped: Callable[..., int] = make

        with pytest.raises(
            InvalidDependencyError, match="Parameter 'count' of the service factory"
        ):
            create_service_factory(number_ref, untyped)

    @pytest.mark.parametrize("kind", ["args", "kwargs"], ids=["*args", "**kwargs"])
    def test_variadic_parameters_are_rejected(self, kind: str) -> None:
        """``*args`` and ``**kwargs`` are rejected, naming the parameter and the function."""

        def with_args(first: int = inject(number_ref), *extras: object) -> int:
            return 1

        def with_kwargs(**options: object) -> int:
            return 1

        func, spelled = (with_args, "*extras") if kind == "args" else (with_kwargs, "**options")
        with pytest.raises(InvalidDependencyError) as caught:
            create_service_factory(number_ref, func)
        assert str(caught.value).startswith(
            f"Parameter '{spelled}' of the service factory for 'inject.number' "
            f"'{qualname(func)}' collects arguments (*args and **kwargs are not allowed)"
        )

    async def test_variadic_init_fails_start(self, make_backend: MakeBackend) -> None:
        """A plugin init taking ``**kwargs`` fails start with the same error."""

        def init(**kwargs: object) -> None:
            raise AssertionError("never called")

        with pytest.raises(InvalidDependencyError, match=r"Parameter '\*\*kwargs' of the init"):
            await make_backend(plugin("p", init)).start()

    def test_non_callable_is_rejected(self) -> None:
        """A factory that is not callable is rejected at creation."""
        not_callable: Any = 42
        with pytest.raises(
            InvalidDependencyError,
            match=re.escape("The service factory for 'inject.number' must be a function"),
        ):
            create_service_factory(number_ref, not_callable)


class TestMarkersKeepDataclassSemantics:
    """The hand-written marker classes behave as the frozen dataclasses they replaced."""

    def test_injected_equality_hash_repr_and_immutability(self) -> None:
        """Markers of one ref are equal with one hash, print their ref and refuse changes."""
        from di_backend._inject import Injected

        marker: Any = inject(number_ref)
        assert type(marker) is Injected
        assert marker == Injected(number_ref)
        assert marker != Injected(core_services.logger)
        assert hash(marker) == hash(Injected(number_ref))
        assert repr(marker) == f"Injected(ref={number_ref!r})"
        with pytest.raises(AttributeError, match="cannot assign to field 'ref'"):
            marker.ref = core_services.logger
        with pytest.raises(AttributeError, match="cannot delete field 'ref'"):
            del marker.ref
        assert marker.__eq__(number_ref) is NotImplemented

    def test_call_spec_and_dependency_compare_by_fields(self) -> None:
        """Two reads of one function give equal specs whose dependencies print their fields."""
        from di_backend._inject import CallSpec, Dependency, read_dependencies

        async def init(number: int = inject(number_ref)) -> None:
            del number

        first = read_dependencies(init, what="init")
        second = read_dependencies(init, what="init")
        assert first == second
        assert hash(first) == hash(second)
        assert first.deps == (Dependency("number", number_ref),)
        assert repr(first.deps[0]) == f"Dependency(name='number', ref={number_ref!r})"
        assert repr(first) == (
            f"CallSpec(func={init!r}, deps={first.deps!r}, has_context=False, "
            f"description={first.description!r})"
        )
        other = CallSpec(init, (), (), False, first.description)
        assert other != first
        assert Dependency("number", core_services.logger) != first.deps[0]

    def test_functions_made_from_one_code_read_their_own_markers(self) -> None:
        """An init rebuilt from the same code with other markers injects the new refs."""
        import types

        from di_backend._inject import read_dependencies

        def init(
            number: int = inject(number_ref), log: object = inject(core_services.logger)
        ) -> None:
            del number, log

        first = read_dependencies(init, what="init")
        assert first.names == ("number", "log")
        assert first.refs == (number_ref, core_services.logger)
        other = types.FunctionType(
            init.__code__,
            init.__globals__,
            "init",
            (inject(core_services.logger), inject(number_ref)),
        )
        assert read_dependencies(other, what="init").deps == (
            Dependency("number", core_services.logger),
            Dependency("log", number_ref),
        )
        assert read_dependencies(init, what="init").deps == first.deps

    def test_keyword_only_defaults_are_read_every_time(self) -> None:
        """A function with keyword-only defaults is read afresh, so a changed default counts."""
        from di_backend._inject import read_dependencies

        def init(*, number: int = inject(number_ref)) -> None:
            del number

        assert read_dependencies(init, what="init").deps == (Dependency("number", number_ref),)
        assert init.__kwdefaults__ is not None
        init.__kwdefaults__["number"] = inject(core_services.logger)
        assert read_dependencies(init, what="init").deps == (
            Dependency("number", core_services.logger),
        )

    def test_call_spec_description_is_worked_out_when_first_asked(self) -> None:
        """A spec made without a description names its function as describe_callable does."""
        from di_backend._inject import CallSpec, describe_callable, read_dependencies

        def init(number: int = inject(number_ref)) -> None:
            del number

        lazy = read_dependencies(init, what="init")
        assert lazy.description == describe_callable(init)
        assert lazy.description.endswith(
            "test_call_spec_description_is_worked_out_when_first_asked.<locals>.init"
        )
        eager = CallSpec.from_deps(init, lazy.deps, False, describe_callable(init))
        assert eager == lazy
        assert hash(eager) == hash(lazy)


def _positional(a: int = inject(number_ref), b: object = inject(core_services.logger)) -> None:
    del a, b


def _keyword_only(*, a: int = inject(number_ref)) -> None:
    del a


def _mixed(a: int = inject(number_ref), *, b: object = inject(core_services.logger)) -> None:
    del a, b


def _no_parameters() -> None:
    pass


def _missing_default(a: int, b: int = inject(number_ref)) -> None:
    del a, b


def _plain_default(a: int = 3) -> None:
    del a


def _collects(*args: object) -> None:
    del args


class TestPlainFunctionShortcut:
    """The shortcut for plain functions gives what the long way gives, or steps aside."""

    @pytest.mark.parametrize(
        "func",
        [_positional, _keyword_only, _mixed, _no_parameters],
        ids=["positional", "keyword-only", "mixed", "none"],
    )
    def test_shortcut_equals_the_long_way(self, func: Callable[..., None]) -> None:
        """For a function of inject(...) parameters both paths give an equal spec."""
        from di_backend._inject import _plain_spec, _read_parameters, read_dependencies

        shortcut = _plain_spec(func)
        assert shortcut is not None
        assert shortcut == _read_parameters(func, what="init", context=False)
        assert shortcut == read_dependencies(func, what="init")

    @pytest.mark.parametrize(
        "func",
        [_missing_default, _plain_default, _collects, functools.partial(_positional), len],
        ids=["missing-default", "plain-default", "varargs", "partial", "builtin"],
    )
    def test_shortcut_steps_aside_for_anything_else(self, func: Callable[..., object]) -> None:
        """Functions the shortcut cannot read go the long way, which names the problem."""
        from di_backend._inject import _plain_spec

        assert _plain_spec(func) is None
