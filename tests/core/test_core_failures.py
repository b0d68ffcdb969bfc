"""Startup results and failures: result shapes, the boot-failure policy, BackendStartupError."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

import pytest
from core_support import Init, module, plugin, startup_error

from di_backend import (
    Backend,
    BackendStartupError,
    BackendStartupResult,
    ModuleStartupResult,
    PluginStartupResult,
    ServiceRef,
    StartupFailure,
    core_services,
    create_service_factory,
    create_service_ref,
    inject,
)
from di_backend.services import JsonValue, LifecycleService, RootLifecycleService

MakeBackend = Callable[..., Backend]
HEADER = "Backend startup failed due to the following errors:"


def ok(events: list[str], name: str) -> Init:
    """An init that records ``name``."""

    def init() -> None:
        events.append(name)

    return init


def failing(message: str = "boom") -> Init:
    """An init that raises ``RuntimeError(message)``."""

    def init() -> None:
        raise RuntimeError(message)

    return init


def by_id(result: BackendStartupResult) -> dict[str, PluginStartupResult]:
    """The plugin results of ``result`` keyed by plugin id."""
    return {p.plugin_id: p for p in result.plugins}


class TestResultShapes:
    async def test_successful_start_returns_the_result(self, make_backend: MakeBackend) -> None:
        """``start`` returns a BackendStartupResult with plugin and module results, no failures."""
        events: list[str] = []
        backend = make_backend(
            plugin("p", ok(events, "p")),
            module("p", "m", ok(events, "m")),
            plugin("q", ok([], "q")),
        )
        result = await backend.start()
        assert isinstance(result, BackendStartupResult)
        assert result.outcome == "success"
        assert isinstance(result.begin_at, datetime)
        assert isinstance(result.result_at, datetime)
        assert result.begin_at <= result.result_at
        plugins = by_id(result)
        assert set(plugins) == {"p", "q"}
        p = plugins["p"]
        assert isinstance(p, PluginStartupResult)
        assert p.failure is None
        assert isinstance(p.result_at, datetime)
        assert len(p.modules) == 1
        assert isinstance(p.modules[0], ModuleStartupResult)
        assert p.modules[0].module_id == "m"
        assert p.modules[0].failure is None
        assert p.modules[0].result_at <= p.result_at
        assert plugins["q"].modules == ()

    async def test_results_are_frozen(self, make_backend: MakeBackend) -> None:
        """Result objects cannot be modified."""
        result = await make_backend(plugin("p", ok([], "p"))).start()
        with pytest.raises(dataclasses.FrozenInstanceError):
            result.outcome = "failure"  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            result.plugins[0].plugin_id = "x"  # type: ignore[misc]

    async def test_failure_holds_the_original_error(self, make_backend: MakeBackend) -> None:
        """A failure is a StartupFailure holding the very exception raised and ``allowed``."""
        error = ValueError("original")

        def init() -> None:
            raise error

        startup = await startup_error(make_backend(plugin("p", init)))
        failure = startup.result.plugins[0].failure
        assert isinstance(failure, StartupFailure)
        assert failure.error is error
        assert failure.allowed is False
        assert startup.result.outcome == "failure"

    async def test_plugins_are_listed_in_completion_order(self, make_backend: MakeBackend) -> None:
        """Plugin results, and module results within a plugin, are in completion order."""
        a_may_finish, m1_may_finish = asyncio.Event(), asyncio.Event()

        async def init_a() -> None:
            await a_may_finish.wait()

        def init_b() -> None:
            a_may_finish.set()

        async def init_m1() -> None:
            await m1_may_finish.wait()

        def init_m2() -> None:
            m1_may_finish.set()

        backend = make_backend(
            plugin("a", init_a),
            plugin("b", init_b),
            module("b", "m1", init_m1),
            module("b", "m2", init_m2),
        )
        result = await asyncio.wait_for(backend.start(), timeout=10)
        assert [p.plugin_id for p in result.plugins] == ["b", "a"]
        assert [m.module_id for m in result.plugins[0].modules] == ["m2", "m1"]

    async def test_orphan_modules_with_broken_wiring_are_skipped(
        self, make_backend: MakeBackend
    ) -> None:
        """Orphan modules are skipped even if their dependencies are missing."""
        ref: ServiceRef[str] = create_service_ref(id="fail.orphan.missing")

        def init(value: str = inject(ref)) -> None:
            raise AssertionError("never called")

        result = await make_backend(plugin("p", ok([], "p")), module("absent", "m", init)).start()
        assert result.outcome == "success"
        assert [p.plugin_id for p in result.plugins] == ["p"]

    async def test_orphan_modules_are_silently_skipped(self, make_backend: MakeBackend) -> None:
        """A module whose plugin is not installed is not initialised and not reported."""
        events: list[str] = []
        result = await make_backend(
            plugin("p", ok(events, "p")), module("absent", "m", ok(events, "m"))
        ).start()
        assert events == ["p"]
        assert [p.plugin_id for p in result.plugins] == ["p"]


class TestStartupError:
    async def test_message_lists_every_disallowed_failure(self, make_backend: MakeBackend) -> None:
        """BackendStartupError lists each disallowed plugin and module failure (message 39)."""
        backend = make_backend(
            plugin("a", failing("plugin a broke")),
            plugin("b", ok([], "b")),
            module("b", "m", failing("module m broke")),
        )
        error = await startup_error(backend)
        lines = str(error).split("\n")
        assert lines[0] == HEADER
        assert sorted(lines[1:]) == [
            "  Module 'm' for plugin 'b' startup failed; caused by RuntimeError: module m broke",
            "  Plugin 'a' startup failed; caused by RuntimeError: plugin a broke",
        ]
        assert isinstance(error.result, BackendStartupResult)
        assert error.result.outcome == "failure"

    async def test_message_uses_the_exception_class_name(self, make_backend: MakeBackend) -> None:
        """``caused by`` renders ``<ClassName>: <message>``, or the bare name without a message."""

        class CustomError(Exception):
            pass

        def init() -> None:
            raise CustomError

        error = await startup_error(make_backend(plugin("p", init)))
        assert str(error) == f"{HEADER}\n  Plugin 'p' startup failed; caused by CustomError"

    async def test_a_failed_plugin_does_not_stop_the_others(
        self, make_backend: MakeBackend
    ) -> None:
        """Other plugins still initialise when one fails."""
        events: list[str] = []
        backend = make_backend(plugin("a", failing()), plugin("b", ok(events, "b")))
        error = await startup_error(backend)
        assert events == ["b"]
        assert by_id(error.result)["b"].failure is None

    async def test_module_failures_do_not_stop_the_plugin(self, make_backend: MakeBackend) -> None:
        """A failing module is recorded; the other modules and the plugin init still run."""
        events: list[str] = []
        backend = make_backend(
            module("p", "bad", failing()),
            module("p", "good", ok(events, "good")),
            plugin("p", ok(events, "plugin")),
        )
        error = await startup_error(backend)
        assert events == ["good", "plugin"]
        p = by_id(error.result)["p"]
        assert p.failure is None
        modules = {m.module_id: m for m in p.modules}
        assert modules["good"].failure is None
        assert modules["bad"].failure is not None
        assert str(error) == (
            f"{HEADER}\n  Module 'bad' for plugin 'p' startup failed; caused by RuntimeError: boom"
        )

    async def test_module_service_failures_are_module_failures(
        self, make_backend: MakeBackend
    ) -> None:
        """A service factory failing for a module fails that module, not its plugin."""
        ref: ServiceRef[str] = create_service_ref(id="fail.module.svc")
        events: list[str] = []

        def make() -> str:
            raise RuntimeError("no service")

        def init(value: str = inject(ref)) -> None:
            raise AssertionError("never called")

        backend = make_backend(
            create_service_factory(ref, make), module("p", "m", init), plugin("p", ok(events, "p"))
        )
        error = await startup_error(backend)
        assert str(error) == (
            f"{HEADER}\n  Module 'm' for plugin 'p' startup failed; caused by "
            "ServiceInstantiationError: Failed to instantiate service 'fail.module.svc' for 'p' "
            "because the factory function threw an error, RuntimeError: no service"
        )
        assert events == ["p"]

    async def test_root_startup_hooks_do_not_run_after_a_failure(
        self, make_backend: MakeBackend
    ) -> None:
        """When start fails, the root startup hooks are not run."""
        events: list[str] = []

        def init(root: RootLifecycleService = inject(core_services.root_lifecycle)) -> None:
            root.add_startup_hook(lambda: events.append("root startup"))

        with pytest.raises(BackendStartupError):
            await make_backend(plugin("a", init), plugin("b", failing())).start()
        assert events == []

    async def test_failed_start_stops_what_started(self, make_backend: MakeBackend) -> None:
        """After a failed start, shutdown hooks and generator teardowns have run."""
        events: list[str] = []
        ref: ServiceRef[str] = create_service_ref(id="fail.gen")

        def make() -> Iterator[str]:
            yield "value"
            events.append("teardown")

        def init(
            value: str = inject(ref),
            lifecycle: LifecycleService = inject(core_services.lifecycle),
            root: RootLifecycleService = inject(core_services.root_lifecycle),
        ) -> None:
            lifecycle.add_shutdown_hook(lambda: events.append("plugin shutdown"))
            root.add_shutdown_hook(lambda: events.append("root shutdown"))
            root.add_before_shutdown_hook(lambda: events.append("before shutdown"))

        backend = make_backend(
            create_service_factory(ref, make), plugin("good", init), plugin("bad", failing())
        )
        with pytest.raises(BackendStartupError):
            await backend.start()
        assert events == ["before shutdown", "plugin shutdown", "root shutdown", "teardown"]
        await backend.stop()
        assert len(events) == 4

    async def test_failed_wiring_also_stops_what_started(self, make_backend: MakeBackend) -> None:
        """A start that fails before plugins run still tears down the root services it made."""
        events: list[str] = []
        root_ref: ServiceRef[str] = create_service_ref(id="fail.root.gen", scope="root")
        bad_ref: ServiceRef[str] = create_service_ref(id="fail.root.bad", scope="root")

        def make_root() -> Iterator[str]:
            yield "root"
            events.append("teardown")

        def make_bad(value: str = inject(root_ref)) -> str:
            raise RuntimeError("eager failure")

        backend = make_backend(
            create_service_factory(root_ref, make_root), create_service_factory(bad_ref, make_bad)
        )
        with pytest.raises(RuntimeError, match=r"^eager failure$"):
            await backend.start()
        assert events == ["teardown"]


POLICY_CASES: list[tuple[str, Mapping[str, JsonValue], bool, bool]] = [
    # (case, backend.startup config, plugin 'p' failure allowed, module 'p'/'m' failure allowed)
    ("defaults abort", {}, False, False),
    ("default continue", {"default": {"onPluginBootFailure": "continue"}}, True, False),
    ("default abort explicit", {"default": {"onPluginBootFailure": "abort"}}, False, False),
    (
        "plugin continue",
        {"plugins": {"p": {"onPluginBootFailure": "continue"}}},
        True,
        False,
    ),
    (
        "plugin abort beats default continue",
        {
            "default": {"onPluginBootFailure": "continue"},
            "plugins": {"p": {"onPluginBootFailure": "abort"}},
        },
        False,
        False,
    ),
    (
        "other plugin continue",
        {"plugins": {"other": {"onPluginBootFailure": "continue"}}},
        False,
        False,
    ),
    (
        "module default continue",
        {"default": {"onPluginModuleBootFailure": "continue"}},
        False,
        True,
    ),
    (
        "module continue",
        {"plugins": {"p": {"modules": {"m": {"onPluginModuleBootFailure": "continue"}}}}},
        False,
        True,
    ),
    (
        "module abort beats default continue",
        {
            "default": {"onPluginModuleBootFailure": "continue"},
            "plugins": {"p": {"modules": {"m": {"onPluginModuleBootFailure": "abort"}}}},
        },
        False,
        False,
    ),
    (
        "plugin continue does not cover modules",
        {
            "default": {"onPluginBootFailure": "continue"},
            "plugins": {"p": {"onPluginBootFailure": "continue"}},
        },
        True,
        False,
    ),
    (
        "ids are case-sensitive",
        {"plugins": {"P": {"onPluginBootFailure": "continue"}}},
        False,
        False,
    ),
]


class TestBootFailurePolicy:
    @pytest.mark.parametrize(
        ("startup", "plugin_allowed"),
        [(c[1], c[2]) for c in POLICY_CASES],
        ids=[c[0] for c in POLICY_CASES],
    )
    async def test_plugin_failures_follow_backend_startup_config(
        self, make_backend: MakeBackend, startup: Mapping[str, JsonValue], plugin_allowed: bool
    ) -> None:
        """``backend.startup`` decides whether a plugin failure aborts start."""
        events: list[str] = []
        backend = make_backend(
            plugin("p", failing()),
            plugin("q", ok(events, "q")),
            config={"backend": {"startup": dict(startup)}},
        )
        if plugin_allowed:
            result = await backend.start()
        else:
            error = await startup_error(backend)
            result = error.result
        failure = by_id(result)["p"].failure
        assert failure is not None
        assert failure.allowed is plugin_allowed
        assert result.outcome == ("success" if plugin_allowed else "failure")
        assert events == ["q"]

    @pytest.mark.parametrize(
        ("startup", "module_allowed"),
        [(c[1], c[3]) for c in POLICY_CASES],
        ids=[c[0] for c in POLICY_CASES],
    )
    async def test_module_failures_follow_backend_startup_config(
        self, make_backend: MakeBackend, startup: Mapping[str, JsonValue], module_allowed: bool
    ) -> None:
        """``backend.startup`` decides whether a module failure aborts start."""
        events: list[str] = []
        backend = make_backend(
            plugin("p", ok(events, "p")),
            module("p", "m", failing()),
            config={"backend": {"startup": dict(startup)}},
        )
        if module_allowed:
            result = await backend.start()
        else:
            error = await startup_error(backend)
            result = error.result
        module_failure = by_id(result)["p"].modules[0].failure
        assert module_failure is not None
        assert module_failure.allowed is module_allowed
        assert result.outcome == ("success" if module_allowed else "failure")
        assert events == ["p"]

    async def test_dashed_ids_are_looked_up_as_config_keys(self, make_backend: MakeBackend) -> None:
        """Plugin and module ids with dashes work as ``backend.startup`` keys."""
        startup: dict[str, JsonValue] = {
            "plugins": {
                "catalog-backend": {
                    "onPluginBootFailure": "continue",
                    "modules": {"github-org": {"onPluginModuleBootFailure": "continue"}},
                }
            }
        }
        backend = make_backend(
            plugin("catalog-backend", failing()),
            module("catalog-backend", "github-org", failing()),
            config={"backend": {"startup": startup}},
        )
        result = await backend.start()
        entry = by_id(result)["catalog-backend"]
        assert entry.failure is not None
        assert entry.failure.allowed
        assert entry.modules[0].failure is not None
        assert entry.modules[0].failure.allowed

    async def test_allowed_failures_are_left_out_of_the_message(
        self, make_backend: MakeBackend
    ) -> None:
        """The BackendStartupError message lists only failures that are not allowed."""
        backend = make_backend(
            plugin("allowed", failing("fine")),
            plugin("aborts", failing("not fine")),
            config={
                "backend": {
                    "startup": {"plugins": {"allowed": {"onPluginBootFailure": "continue"}}}
                }
            },
        )
        error = await startup_error(backend)
        assert str(error) == (
            f"{HEADER}\n  Plugin 'aborts' startup failed; caused by RuntimeError: not fine"
        )
        allowed = by_id(error.result)["allowed"].failure
        assert allowed is not None
        assert allowed.allowed is True

    async def test_allowed_failures_are_logged(
        self, make_backend: MakeBackend, logs: list[tuple[str, str]]
    ) -> None:
        """An allowed failure is logged at error level, saying that startup continues."""
        backend = make_backend(
            plugin("p", failing()),
            config={"backend": {"startup": {"default": {"onPluginBootFailure": "continue"}}}},
        )
        await backend.start()
        assert (
            "error",
            "Plugin 'p' threw an error during startup, but boot failure is permitted for this "
            "plugin so startup will continue.",
        ) in logs

    async def test_root_startup_hooks_run_when_failures_are_allowed(
        self, make_backend: MakeBackend
    ) -> None:
        """With only allowed failures the backend starts fully, root startup hooks included."""
        events: list[str] = []

        def init(root: RootLifecycleService = inject(core_services.root_lifecycle)) -> None:
            root.add_startup_hook(lambda: events.append("root startup"))

        backend = make_backend(
            plugin("a", init),
            plugin("b", failing()),
            config={"backend": {"startup": {"default": {"onPluginBootFailure": "continue"}}}},
        )
        await backend.start()
        assert events == ["root startup"]


async def test_a_failing_root_context_is_reported_as_the_root_context() -> None:
    """The error names the root context and the service, not the factory function."""
    from di_backend import create_service_factory, create_service_ref, inject
    from di_backend.errors import RootContextError
    from di_backend.testing import start_test_backend

    ref: ServiceRef[object] = create_service_ref(id="ctx.service")

    def broken_context() -> int:
        raise RuntimeError("no connection")

    def factory(context: int) -> object:
        raise AssertionError("never called")

    async def init(value: object = inject(ref)) -> None:
        raise AssertionError("never called")

    with pytest.raises(BackendStartupError) as caught:
        await start_test_backend(
            features=[
                create_service_factory(ref, factory, create_root_context=broken_context),
                plugin("uses", init),
            ]
        )
    failure = caught.value.result.plugins[0].failure
    assert failure is not None
    assert isinstance(failure.error, RootContextError)
    assert failure.error.service_id == "ctx.service"
    message = str(failure.error)
    assert message.startswith(
        "Failed to instantiate service 'ctx.service' because its create_root_context"
    )
    assert "broken_context' threw an error, RuntimeError: no connection" in message
    assert "factory function" not in message


def test_collector_lists_finished_plugins_first_then_those_with_only_module_results() -> None:
    """Results list each plugin once: finished ones in completion order, then the rest."""
    from di_backend._results import ResultCollector
    from di_backend.testing import mock_services

    collector = ResultCollector(lambda plugin_id, module_id: False, mock_services.logger.mock())
    collector.module_result("only-modules", "m")
    collector.plugin_result("second")
    collector.plugin_result("first")
    collector.plugin_result("second")  # a repeated result keeps its first place
    collector.module_result("first", "late")
    result = collector.finalize()
    assert [p.plugin_id for p in result.plugins] == ["second", "first", "only-modules"]
    assert [m.module_id for m in result.plugins[1].modules] == ["late"]
    assert [m.module_id for m in result.plugins[2].modules] == ["m"]
    assert result.plugins[2].result_at == result.result_at
