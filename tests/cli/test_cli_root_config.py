"""The default ``root_config`` factory and what the root logger takes from it."""

from __future__ import annotations

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
from di_backend.config import ObservableConfig
from di_backend.defaults import RootConfigFactory, root_config_factory
from di_backend.errors import ConfigFileError
from di_backend.services import LoggerService, RootConfigService


def _probe(seen: dict[str, RootConfigService]) -> BackendPlugin:
    def register(env: PluginRegistrationPoints) -> None:
        async def init(config: RootConfigService = inject(core_services.root_config)) -> None:
            seen["config"] = config

        env.register_init(init)

    return create_backend_plugin(plugin_id="probe", register=register)


async def _loaded_config(factory: RootConfigFactory | None = None) -> RootConfigService:
    seen: dict[str, RootConfigService] = {}
    backend = create_backend()
    if factory is not None:
        backend.add(factory)
    backend.add(_probe(seen))
    await backend.start()
    await backend.stop()
    return seen["config"]


class TestRootConfigFactory:
    def test_calling_the_factory_returns_a_factory_with_options(self) -> None:
        """``root_config_factory(paths=...)`` is a new factory for the same ref, keeping options."""
        custom = root_config_factory(paths=["a.yaml", Path("b.yaml")], env={"X": "1"})
        assert isinstance(custom, RootConfigFactory)
        assert custom is not root_config_factory
        assert custom.service is core_services.root_config
        assert custom.paths == ("a.yaml", Path("b.yaml"))
        assert custom.env == {"X": "1"}
        assert root_config_factory.paths == ()
        assert repr(custom) == "root_config_factory(paths=['a.yaml', 'b.yaml'])"

    async def test_default_files_are_read_from_the_working_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """app-config.yaml is read first and app-config.local.yaml overrides it."""
        monkeypatch.chdir(tmp_path)
        (tmp_path / "app-config.yaml").write_text("a: {b: base, c: kept}\n", encoding="utf-8")
        (tmp_path / "app-config.local.yaml").write_text("a: {b: local}\n", encoding="utf-8")
        config = await _loaded_config()
        assert isinstance(config, ObservableConfig)
        assert config.get("a") == {"b": "local", "c": "kept"}
        assert config.reader.sources == ("app-config.yaml", "app-config.local.yaml")

    async def test_explicit_paths_replace_the_default_files(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Files given to the factory are read in order instead of the default files."""
        monkeypatch.chdir(tmp_path)
        (tmp_path / "app-config.yaml").write_text("x: default\n", encoding="utf-8")
        (tmp_path / "one.yaml").write_text("x: one\ny: one\n", encoding="utf-8")
        (tmp_path / "two.yaml").write_text("x: two\n", encoding="utf-8")
        config = await _loaded_config(root_config_factory(paths=["one.yaml", "two.yaml"]))
        assert config.get("x") == "two"
        assert config.get("y") == "one"

    async def test_env_overrides_and_substitution_apply(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``${VAR}`` substitution and ``APP_CONFIG_*`` overrides come from the given env."""
        monkeypatch.chdir(tmp_path)
        (tmp_path / "app-config.yaml").write_text(
            "greeting: Hello ${WHO}\nport: 1\n", encoding="utf-8"
        )
        env = {"WHO": "world", "APP_CONFIG_port": "7008"}
        config = await _loaded_config(root_config_factory(env=env))
        assert config.get("greeting") == "Hello world"
        assert config.get("port") == 7008

    async def test_missing_explicit_file_fails_the_start_naming_the_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A config file that does not exist fails ``start`` with a message naming it."""
        monkeypatch.chdir(tmp_path)
        with pytest.raises(ConfigFileError, match=r"^Config file 'missing\.yaml' does not exist$"):
            await _loaded_config(root_config_factory(paths=["missing.yaml"]))


def _logging_plugin(message: str) -> BackendPlugin:
    def register(env: PluginRegistrationPoints) -> None:
        async def init(logger: LoggerService = inject(core_services.logger)) -> None:
            logger.debug("debug line")
            logger.info(message)

        env.register_init(init)

    return create_backend_plugin(plugin_id="talker", register=register)


async def _run_logging_plugin(message: str) -> None:
    backend = create_backend()
    backend.add(_logging_plugin(message))
    await backend.start()
    await backend.stop()


class TestRootLoggerFromConfig:
    async def test_secrets_from_the_environment_are_redacted(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A value substituted from the environment never appears in a log line."""
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("LOG_FORMAT", "json")
        monkeypatch.setenv("GITHUB_TOKEN", "ghp_supersecret123")
        (tmp_path / "app-config.yaml").write_text(
            "integrations: {github: {token: '${GITHUB_TOKEN}'}}\n", encoding="utf-8"
        )
        await _run_logging_plugin("token is ghp_supersecret123")
        out = capsys.readouterr().out
        assert "ghp_supersecret123" not in out
        messages = [json.loads(line)["message"] for line in out.splitlines()]
        assert "token is ***" in messages

    @pytest.mark.parametrize(
        "case",
        [("debug", None, True), ("info", None, False), ("info", "debug", True)],
        ids=["config-debug", "config-info", "env-wins"],
    )
    async def test_log_level_comes_from_log_level_then_config(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        case: tuple[str, str | None, bool],
    ) -> None:
        """``LOG_LEVEL`` wins over ``backend.logger.level``, which wins over the info default."""
        config_level, env_level, debug_logged = case
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("LOG_FORMAT", "json")
        if env_level is None:
            monkeypatch.delenv("LOG_LEVEL", raising=False)
        else:
            monkeypatch.setenv("LOG_LEVEL", env_level)
        (tmp_path / "app-config.yaml").write_text(
            f"backend: {{logger: {{level: {config_level}}}}}\n", encoding="utf-8"
        )
        await _run_logging_plugin("info line")
        messages = [json.loads(line)["message"] for line in capsys.readouterr().out.splitlines()]
        assert "info line" in messages
        assert ("debug line" in messages) is debug_logged
