"""``create_backend()``: every default installed, and unhandled errors in background tasks."""

from __future__ import annotations

import asyncio
import gc
import json
from pathlib import Path

import pytest

from di_backend import (
    BackendPlugin,
    PluginRegistrationPoints,
    core_services,
    create_backend,
    create_backend_plugin,
    inject,
)
from di_backend._create_backend import default_service_factories
from di_backend.config import ObservableConfig
from di_backend.defaults import (
    lifecycle_factory,
    logger_factory,
    root_config_factory,
    root_lifecycle_factory,
    root_logger_factory,
)
from di_backend.defaults._lifecycle import DefaultLifecycle, DefaultRootLifecycle
from di_backend.defaults._logging import DefaultRootLogger
from di_backend.http import http_service_factories
from di_backend.services import (
    LifecycleService,
    LoggerService,
    RootConfigService,
    RootLifecycleService,
)


def _spawning_plugin(plugin_id: str = "spawner") -> BackendPlugin:
    def register(env: PluginRegistrationPoints) -> None:
        async def init() -> None:
            async def poll() -> None:
                raise RuntimeError("poller crashed")

            asyncio.create_task(poll())  # noqa: RUF006 - deliberately dropped

        env.register_init(init)

    return create_backend_plugin(plugin_id=plugin_id, register=register)


class TestDefaults:
    def test_default_factories_are_the_core_defaults(self) -> None:
        """``create_backend`` installs config, loggers, lifecycles and the HTTP services."""
        assert default_service_factories() == [
            root_config_factory,
            root_logger_factory,
            logger_factory,
            root_lifecycle_factory,
            lifecycle_factory,
            *http_service_factories,
        ]

    async def test_create_backend_serves_the_real_defaults(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A plugin of ``create_backend()`` receives the file config and the default services."""
        monkeypatch.chdir(tmp_path)
        (tmp_path / "app-config.yaml").write_text("app: {title: Demo}\n", encoding="utf-8")
        seen: dict[str, object] = {}

        def register(env: PluginRegistrationPoints) -> None:
            async def init(
                config: RootConfigService = inject(core_services.root_config),
                root_logger: LoggerService = inject(core_services.root_logger),
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

        backend = create_backend()
        backend.add(create_backend_plugin(plugin_id="probe", register=register))
        await backend.start()
        await backend.stop()
        config = seen["config"]
        assert isinstance(config, ObservableConfig)
        assert config.get_string("app.title") == "Demo"
        assert isinstance(seen["root_logger"], DefaultRootLogger)
        logger = seen["logger"]
        assert isinstance(logger, DefaultRootLogger)
        assert logger.fields["plugin"] == "probe"
        assert isinstance(seen["root_lifecycle"], DefaultRootLifecycle)
        assert isinstance(seen["lifecycle"], DefaultLifecycle)


class TestUnhandledErrors:
    async def test_failing_background_task_is_logged_through_the_root_logger(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An exception escaping a task spawned by a plugin is logged as 'Unhandled exception'."""
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("LOG_FORMAT", "json")
        backend = create_backend()
        backend.add(_spawning_plugin())
        await backend.start()
        await asyncio.sleep(0.01)
        gc.collect()  # a dropped task reports its exception when it is collected
        assert asyncio.get_running_loop().is_running()
        await backend.stop()
        records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        unhandled = [r for r in records if r["message"].startswith("Unhandled exception")]
        assert len(unhandled) == 1
        assert unhandled[0]["level"] == "error"
        assert unhandled[0]["error"] == "RuntimeError: poller crashed"
        assert unhandled[0]["type"] == "unhandledException"

    async def test_unhandled_exception_names_the_plugin(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The 'Unhandled exception' line carries the plugin whose init spawned the task."""
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("LOG_FORMAT", "json")
        backend = create_backend()
        backend.add(_spawning_plugin("poller"))
        await backend.start()
        await asyncio.sleep(0.01)
        gc.collect()
        await backend.stop()
        records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        unhandled = [r for r in records if r["message"].startswith("Unhandled exception")]
        assert unhandled[0].get("plugin") == "poller"

    async def test_handler_is_installed_while_running_and_removed_on_stop(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The backend's loop exception handler replaces the previous one only until stop."""
        monkeypatch.chdir(tmp_path)
        loop = asyncio.get_running_loop()
        seen: list[dict[str, object]] = []

        def previous(_loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
            seen.append(context)

        loop.set_exception_handler(previous)
        try:
            backend = create_backend()
            await backend.start()
            assert loop.get_exception_handler() is not previous
            await backend.stop()
            assert loop.get_exception_handler() is previous
            loop.call_exception_handler({"message": "after stop"})
            assert seen == [{"message": "after stop"}]
        finally:
            loop.set_exception_handler(None)
