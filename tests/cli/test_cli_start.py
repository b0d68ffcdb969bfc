"""``di-backend start`` end to end, in a subprocess."""

from __future__ import annotations

import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from cli_support import (
    EXAMPLES,
    RunningCli,
    cli_env,
    log_records,
    message_is,
    run_cli,
    write_config,
    write_package,
)

FAILING_PLUGIN = """
    from di_backend import create_backend_plugin

    def register(env):
        async def init() -> None:
            raise RuntimeError("database unreachable")

        env.register_init(init)

    default = create_backend_plugin(plugin_id="broken", register=register)
"""


EXAMPLE_HELLO = """
    from di_backend import core_services, create_backend_plugin, inject
    from di_backend.services import LoggerService, RootConfigService

    def register(env):
        async def init(
            logger: LoggerService = inject(core_services.logger),
            config: RootConfigService = inject(core_services.root_config),
        ) -> None:
            logger.info("hello " + config.get_string("hello.name"))

        env.register_init(init)

    default = create_backend_plugin(plugin_id="hello", register=register)
"""


class TestStartAndStop:
    @pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
    def test_example_backend_starts_and_stops_cleanly_on_signal(self, sig: signal.Signals) -> None:
        """The docs example starts, logs its summary, and a signal stops it with exit code 0."""
        with RunningCli(
            ["start", "--config", "app-config.yaml"], cwd=EXAMPLES, env=cli_env(EXAMPLES)
        ) as cli:
            summary = cli.wait_for(message_is("Backend started in"))
            cli.send(sig)
            code, stderr = cli.finish()
        assert code == 0, stderr
        record = log_records([summary])[0]
        assert record["plugins"] == ["example", "notes", "todo"]
        assert record["modules"] == ["todo.github", "todo.jira"]
        assert record["config"] == ["app-config.yaml", "env"]  # env: the test port override
        messages = [str(r["message"]) for r in log_records(cli.lines)]
        assert "Hello from example plugin: configured in app-config.yaml" in messages
        assert f"Received {sig.name}, stopping the backend" in messages
        assert messages[-1] == "Backend stopped"

    def test_console_script_is_installed(self) -> None:
        """The ``di-backend`` console script runs the same command as ``python -m di_backend``."""
        script = shutil.which("di-backend", path=str(Path(sys.executable).parent))
        if script is None:
            pytest.skip("the di-backend console script is not installed in this environment")
        with RunningCli(
            ["start", "--config", "app-config.yaml"],
            cwd=EXAMPLES,
            env=cli_env(EXAMPLES),
            command=[script],
        ) as cli:
            cli.wait_for(message_is("Backend started in"))
            cli.send(signal.SIGTERM)
            code, stderr = cli.finish()
        assert code == 0, stderr

    def test_default_config_files_come_from_the_working_directory(self, tmp_path: Path) -> None:
        """Without ``--config`` the command reads app-config.yaml, then app-config.local.yaml."""
        write_package(tmp_path, "hello_pkg", EXAMPLE_HELLO)
        write_config(tmp_path, "backend: {features: [hello_pkg]}\nhello: {name: base}\n")
        write_config(tmp_path, "hello: {name: local}\n", name="app-config.local.yaml")
        with RunningCli(["start"], cwd=tmp_path, env=cli_env()) as cli:
            cli.wait_for(message_is("Backend started in"))
            cli.send(signal.SIGTERM)
            code, stderr = cli.finish()
        assert code == 0, stderr
        assert "hello local" in [r["message"] for r in log_records(cli.lines)]

    def test_signal_during_startup_stops_with_exit_code_zero(self, tmp_path: Path) -> None:
        """A signal while a plugin is still initialising cancels the start and exits with 0."""
        write_package(
            tmp_path,
            "slow_pkg",
            """
            import asyncio
            from di_backend import create_backend_plugin

            def register(env):
                async def init() -> None:
                    await asyncio.Event().wait()  # never finishes on its own

                env.register_init(init)

            default = create_backend_plugin(plugin_id="slow", register=register)
            """,
        )
        write_config(tmp_path, "backend: {features: [slow_pkg]}\n")
        with RunningCli(["start"], cwd=tmp_path, env=cli_env()) as cli:
            cli.wait_for(message_is("Plugin initialization started"))
            cli.send(signal.SIGTERM)
            code, stderr = cli.finish()
        assert code == 0, stderr
        messages = [r["message"] for r in log_records(cli.lines)]
        assert "Startup interrupted by SIGTERM; the backend was stopped" in messages


class TestStartupFailures:
    def test_failing_plugin_exits_1_with_the_message_and_no_traceback(self, tmp_path: Path) -> None:
        """A plugin whose init raises makes the command exit 1 with the startup error on stderr."""
        write_package(tmp_path, "broken_pkg", FAILING_PLUGIN)
        write_config(tmp_path, "backend: {features: [broken_pkg]}\n")
        result = run_cli(["start"], cwd=tmp_path, env=cli_env())
        assert result.returncode == 1
        assert result.stderr == (
            "Backend startup failed due to the following errors:\n"
            "  Plugin 'broken' startup failed; caused by RuntimeError: database unreachable\n"
        )
        assert "Traceback" not in result.stderr

    def test_an_unset_variable_is_named_once_and_in_each_failure(self, tmp_path: Path) -> None:
        """``${VAR}`` unset then required: one warning names the variable and file; errors too."""
        for plugin_id in ("needs_a", "needs_b"):
            write_package(
                tmp_path,
                plugin_id,
                f"""
                from di_backend import core_services, create_backend_plugin, inject


                def register(env):
                    async def init(config=inject(core_services.root_config)):
                        config.get_string("myapp.token")

                    env.register_init(init)


                default = create_backend_plugin(
                    plugin_id="{plugin_id.replace("_", "-")}", register=register
                )
                """,
            )
        write_config(
            tmp_path,
            """
            backend: {features: [needs_a, needs_b]}
            myapp:
              token: ${MYAPP_TOKEN}
            """,
        )
        env = {k: v for k, v in cli_env().items() if k != "MYAPP_TOKEN"}
        result = run_cli(["start"], cwd=tmp_path, env=env)
        assert result.returncode == 1
        warnings = [
            r["message"] for r in log_records(result.stdout.splitlines()) if r["level"] == "warn"
        ]
        assert (
            warnings.count(
                "Config value at 'myapp.token' in 'app-config.yaml' is left out: it is "
                "${MYAPP_TOKEN}, and the environment variable MYAPP_TOKEN is not set"
            )
            == 1
        )
        assert (
            result.stderr.count(
                "Missing required config value at 'myapp.token' in 'app-config.yaml', 'env': "
                "'app-config.yaml' sets it to ${MYAPP_TOKEN}, and the environment variable "
                "MYAPP_TOKEN is not set"
            )
            == 2
        )  # 'env': the test's APP_CONFIG_backend_listen_port

    def test_exception_in_register_names_where_it_was_raised(self, tmp_path: Path) -> None:
        """An error raised by ``register`` is printed with its class and place, not a traceback."""
        write_package(
            tmp_path,
            "bad_register",
            """
            from di_backend import create_backend_plugin

            def register(env):
                raise ValueError("no init for you")

            default = create_backend_plugin(plugin_id="bad", register=register)
            """,
        )
        write_config(tmp_path, "backend: {features: [bad_register]}\n")
        result = run_cli(["start"], cwd=tmp_path, env=cli_env())
        assert result.returncode == 1
        assert result.stderr.startswith(
            "Backend startup failed; caused by ValueError: no init for you (raised at "
        )
        assert "bad_register" in result.stderr
        assert "in register)" in result.stderr
        assert "Traceback" not in result.stderr

    def test_missing_config_file_exits_1_naming_the_file(self, tmp_path: Path) -> None:
        """A ``--config`` file that does not exist is reported by name, with exit code 1."""
        result = run_cli(["start", "--config", "nope.yaml"], cwd=tmp_path, env=cli_env())
        assert result.returncode == 1
        assert result.stderr == (
            "Backend startup failed; caused by ConfigFileError: "
            "Config file 'nope.yaml' does not exist\n"
        )

    def test_unimportable_feature_names_the_config_key(self, tmp_path: Path) -> None:
        """A ``backend.features`` entry that cannot be imported names its config key."""
        write_config(tmp_path, "backend: {features: [no_such_package_xyz]}\n")
        result = run_cli(["start"], cwd=tmp_path, env=cli_env())
        assert result.returncode == 1
        assert "backend.features[0] 'no_such_package_xyz'" in result.stderr
        assert "No module named 'no_such_package_xyz'" in result.stderr

    def test_allowed_plugin_failure_still_starts(self, tmp_path: Path) -> None:
        """With ``onPluginBootFailure: continue`` the backend runs and the summary counts it."""
        write_package(tmp_path, "broken_pkg2", FAILING_PLUGIN)
        write_config(
            tmp_path,
            """
            backend:
              features: [broken_pkg2]
              startup:
                plugins:
                  broken:
                    onPluginBootFailure: continue
            """,
        )
        with RunningCli(["start"], cwd=tmp_path, env=cli_env()) as cli:
            line = cli.wait_for(message_is("Backend started in"))
            cli.send(signal.SIGTERM)
            code, stderr = cli.finish()
        assert code == 0, stderr
        record = log_records([line])[0]
        assert str(record["message"]).endswith("0 plugins, 0 modules (1 allowed failure)")
        assert record["allowed_failures"] == ["plugin 'broken'"]


class TestUnhandledErrors:
    def test_failing_background_task_is_logged_and_the_process_keeps_running(
        self, tmp_path: Path
    ) -> None:
        """An exception escaping a task a plugin spawned is logged; SIGTERM still exits with 0."""
        write_package(
            tmp_path,
            "spawner_pkg",
            """
            import asyncio
            from di_backend import create_backend_plugin

            def register(env):
                async def init() -> None:
                    async def poll() -> None:
                        raise RuntimeError("poller crashed")

                    asyncio.create_task(poll())

                env.register_init(init)

            default = create_backend_plugin(plugin_id="spawner", register=register)
            """,
        )
        write_config(tmp_path, "backend: {features: [spawner_pkg]}\n")
        with RunningCli(["start"], cwd=tmp_path, env=cli_env()) as cli:
            line = cli.wait_for(message_is("Unhandled exception"))
            cli.wait_for(message_is("Backend started in"))
            assert cli.process.poll() is None
            cli.send(signal.SIGTERM)
            code, stderr = cli.finish()
        assert code == 0, stderr
        record = log_records([line])[0]
        assert record["level"] == "error"
        assert record["error"] == "RuntimeError: poller crashed"
        assert record["type"] == "unhandledException"


class TestUsage:
    def test_no_command_prints_usage_and_exits_2(self, tmp_path: Path) -> None:
        """Running the command without a sub-command prints the help and exits with 2."""
        result = run_cli([], cwd=tmp_path, env=cli_env())
        assert result.returncode == 2
        assert "start" in result.stderr
        assert "graph" in result.stderr


class TestEmptyBackend:
    def test_no_config_and_no_features_warns_where_it_looked(self, tmp_path: Path) -> None:
        """Started with nothing to run, the command warns and names the files it looked for."""
        with RunningCli(["start"], cwd=tmp_path, env=cli_env()) as cli:
            cli.wait_for(message_is("Started an empty backend"))
            cli.send(signal.SIGTERM)
            code, stderr = cli.finish()
        assert code == 0, stderr
        warning = next(
            r for r in log_records(cli.lines) if str(r["message"]).startswith("Started an empty")
        )
        assert warning["level"] == "warn"
        assert "looked for app-config.yaml, app-config.local.yaml in" in str(warning["message"])
        assert str(tmp_path) in str(warning["message"])

    def test_a_config_without_features_names_the_file_it_read(self, tmp_path: Path) -> None:
        """With a config file but no features the warning names the file."""
        write_config(tmp_path, "app: {title: nothing here}\n")
        with RunningCli(["start"], cwd=tmp_path, env=cli_env()) as cli:
            cli.wait_for(message_is("Started an empty backend"))
            cli.send(signal.SIGTERM)
            cli.finish()
        messages = [str(r["message"]) for r in log_records(cli.lines)]
        assert any("configuration was read from" in m and "app-config.yaml" in m for m in messages)


HANGING_STOP = """
import asyncio

from di_backend import PluginRegistrationPoints, core_services, create_backend_plugin, inject
from di_backend.services import LifecycleService


def _register(env: PluginRegistrationPoints) -> None:
    async def init(lifecycle: LifecycleService = inject(core_services.lifecycle)) -> None:
        async def never() -> None:
            await asyncio.Event().wait()

        lifecycle.add_shutdown_hook(never)

    env.register_init(init)


default = create_backend_plugin(plugin_id="stuck", register=_register)
"""


def test_a_second_signal_while_stopping_exits_at_once(tmp_path: Path) -> None:
    """SIGTERM starts the stop; SIGINT during a hung stop exits with 130 instead of waiting."""
    write_package(tmp_path, "stuck_plugin", HANGING_STOP)
    config = write_config(tmp_path, "backend:\n  features: [stuck_plugin]\n")
    with RunningCli(["start", "--config", str(config)], cwd=tmp_path, env=cli_env(tmp_path)) as cli:
        cli.wait_for(message_is("Plugin initialization complete"))
        cli.send(signal.SIGTERM)
        cli.wait_for(message_is("Received SIGTERM, stopping the backend"))
        began = time.monotonic()
        cli.send(signal.SIGINT)
        code, stderr = cli.finish()
    assert code == 130, stderr
    assert time.monotonic() - began < 5
    assert "Received SIGINT while stopping after SIGTERM; exiting now" in stderr
