"""No path that prints or logs prints a configuration secret: start, graph, and after a reload.

The secret here is a token substituted from the environment (``${TODO_TOKEN}``). A
plugin puts it in its failure message, a loader logs it, and a reload brings a new
one; every time, what reaches stdout or stderr says ``***`` instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import cli_env, run_cli, write_config, write_package

from di_backend import (
    PluginRegistrationPoints,
    core_services,
    create_backend_plugin,
    create_specialized_backend,
    inject,
)
from di_backend.config import ObservableConfig
from di_backend.defaults import logger_factory, root_config_factory, root_logger_factory
from di_backend.services import LoggerService, RootConfigService

SECRET = "s3cr3t-token-4711"
ROTATED = "r0tated-token-0815"

FAILING = """
from di_backend import PluginRegistrationPoints, core_services, create_backend_plugin, inject
from di_backend.services import RootConfigService


def _register(env: PluginRegistrationPoints) -> None:
    async def init(config: RootConfigService = inject(core_services.root_config)) -> None:
        raise RuntimeError(f"the todo service refused token {config.get_string('todo.token')}")

    env.register_init(init)


default = create_backend_plugin(plugin_id="todo", register=_register)
"""

LOGGING_LOADER = """
from di_backend import core_services, create_backend_feature_loader, inject
from di_backend.services import RootConfigService, RootLoggerService


def _features(
    config: RootConfigService = inject(core_services.root_config),
    logger: RootLoggerService = inject(core_services.root_logger),
):
    logger.warn(f"loading todo features with {config.get_string('todo.token')}")
    return []


default = create_backend_feature_loader(_features)
"""


def _config(tmp_path: Path, feature: str) -> Path:
    return write_config(
        tmp_path,
        f"""
        backend:
          features: [{feature}]
        todo:
          token: ${{TODO_TOKEN}}
        """,
    )


def test_a_failed_start_prints_the_error_redacted(tmp_path: Path) -> None:
    """``di-backend start`` writes a plugin's failure to stderr with the secret as ``***``."""
    write_package(tmp_path, "failing_todo", FAILING)
    config = _config(tmp_path, "failing_todo")
    env = cli_env(tmp_path, extra={"TODO_TOKEN": SECRET})
    done = run_cli(["start", "--config", str(config)], cwd=tmp_path, env=env)
    assert done.returncode == 1, done.stderr
    assert "the todo service refused token ***" in done.stderr, done.stderr
    assert SECRET not in done.stderr + done.stdout


def test_graph_redacts_what_loaders_log_and_what_it_prints(tmp_path: Path) -> None:
    """``di-backend graph`` redacts a loader's warning on stderr and its own output."""
    write_package(tmp_path, "logging_todo", LOGGING_LOADER)
    config = _config(tmp_path, "logging_todo")
    env = cli_env(tmp_path, extra={"TODO_TOKEN": SECRET})
    done = run_cli(["graph", "--config", str(config)], cwd=tmp_path, env=env)
    assert "loading todo features with ***" in done.stderr, done.stderr
    assert SECRET not in done.stderr + done.stdout


def test_graph_redacts_a_failure_message(tmp_path: Path) -> None:
    """A wiring failure that quotes a secret is printed by ``di-backend graph`` redacted."""
    write_package(
        tmp_path, "raising_loader", LOGGING_LOADER.replace("logger.warn", "raise ValueError")
    )
    config = _config(tmp_path, "raising_loader")
    env = cli_env(tmp_path, extra={"TODO_TOKEN": SECRET})
    done = run_cli(["graph", "--config", str(config)], cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert "loading todo features with ***" in done.stderr, done.stderr
    assert SECRET not in done.stderr + done.stdout


async def test_secrets_that_a_reload_brings_are_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a reload brings a rotated token, the root logger redacts the new value too."""
    config_file = _config(tmp_path, "none")
    monkeypatch.setenv("TODO_TOKEN", SECRET)
    monkeypatch.setenv("LOG_FORMAT", "json")
    seen: list[tuple[LoggerService, RootConfigService]] = []

    async def init(
        logger: LoggerService = inject(core_services.logger),
        config: RootConfigService = inject(core_services.root_config),
    ) -> None:
        seen.append((logger, config))

    backend = create_specialized_backend(
        default_service_factories=[
            root_config_factory(paths=[str(config_file)]),
            root_logger_factory,
            logger_factory,
        ]
    )

    def register(env: PluginRegistrationPoints) -> None:
        env.register_init(init)

    backend.add(create_backend_plugin(plugin_id="todo", register=register))
    await backend.start()
    try:
        ((logger, config),) = seen
        monkeypatch.setenv("TODO_TOKEN", ROTATED)
        assert isinstance(config, ObservableConfig)
        config.reload()
        assert config.get_string("todo.token") == ROTATED
        logger.info(f"now {ROTATED}, before {SECRET}")
    finally:
        await backend.stop()
    out = capsys.readouterr().out
    assert '"now ***, before ***"' in out, out
    assert SECRET not in out
    assert ROTATED not in out
