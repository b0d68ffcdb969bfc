"""``di-backend graph``: the wiring in text, Mermaid and DOT, without starting anything."""

from __future__ import annotations

import asyncio
import importlib
import re
import sys
import uuid
from pathlib import Path

import pytest
from cli_support import EXAMPLES, cli_env, run_cli, write_config, write_package

from di_backend.cli import main
from di_backend.cli._start import build_backend

EXAMPLE_TEXT = """\
plugin 'todo'
  1. module 'github'  from backend.features[2] 'todo_backend_module_github'
       init: todo_backend_module_github.module._register.<locals>.init
       actions  extensionPoint{todo.actions}  registered by plugin 'todo'
       config   serviceRef{core.rootConfig}   root scope, default factory
  1. module 'jira'  from backend.features[3] 'todo_backend_module_jira'
       init: todo_backend_module_jira.module._register.<locals>.init
       actions  extensionPoint{todo.actions}  registered by plugin 'todo'
       logger   serviceRef{core.logger}       plugin scope, default factory
  2. plugin init  from backend.features[1] 'todo_backend'
       init: todo_backend.plugin._register.<locals>.init
       registers extensionPoint{todo.actions}
       logger       serviceRef{core.logger}      plugin scope, default factory
       config       serviceRef{core.rootConfig}  root scope, default factory
       http_router  serviceRef{core.httpRouter}  plugin scope, default factory
       http_auth    serviceRef{core.httpAuth}    plugin scope, default factory
"""

# A plugin whose module 'core' provides an extension point that modules 'a' and 'b' use:
# 'core' must wait for both, and the plugin comes last. Each init appends to ORDER.
SHOP_NODE = """
    from di_backend import create_extension_point

    ORDER: list[str] = []
    hooks = create_extension_point(id="{prefix}.hooks")
"""
SHOP_PLUGIN = """
    from {node} import ORDER
    from di_backend import create_backend_plugin

    def register(env):
        async def init() -> None:
            ORDER.append("plugin")

        env.register_init(init)

    default = create_backend_plugin(plugin_id="{prefix}", register=register)
"""
SHOP_CORE = """
    from {node} import ORDER, hooks
    from di_backend import create_backend_module

    def register(env):
        env.register_extension_point(hooks, [])

        async def init() -> None:
            ORDER.append("core")

        env.register_init(init)

    default = create_backend_module(plugin_id="{prefix}", module_id="core", register=register)
"""
SHOP_USER = """
    from {node} import ORDER, hooks
    from di_backend import create_backend_module, inject

    def register(env):
        async def init(h: list[str] = inject(hooks)) -> None:
            ORDER.append("{module}")

        env.register_init(init)

    default = create_backend_module(plugin_id="{prefix}", module_id="{module}", register=register)
"""


def _fill(source: str, **values: str) -> str:
    for key, value in values.items():
        source = source.replace("{" + key + "}", value)
    return source


@pytest.fixture(name="site")
def _site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory that is also on ``sys.path``."""
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    importlib.invalidate_caches()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _graph(site: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["graph", "--app-dir", str(site), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _write_shop(site: Path) -> tuple[str, list[str]]:
    """Write the shop packages; return the plugin id and the feature import strings."""
    prefix = f"shop{uuid.uuid4().hex[:6]}"
    node = f"{prefix}_node"
    write_package(site, node, _fill(SHOP_NODE, prefix=prefix))
    write_package(site, f"{prefix}_backend", _fill(SHOP_PLUGIN, prefix=prefix, node=node))
    write_package(site, f"{prefix}_core", _fill(SHOP_CORE, prefix=prefix, node=node))
    for module in ("a", "b"):
        source = _fill(SHOP_USER, prefix=prefix, node=node, module=module)
        write_package(site, f"{prefix}_{module}", source)
    features = [f"{prefix}_core", f"{prefix}_backend", f"{prefix}_b", f"{prefix}_a"]
    write_config(site, "backend:\n  features: [" + ", ".join(features) + "]\n")
    return prefix, features


class TestText:
    def test_example_wiring_lists_modules_before_their_plugin(self) -> None:
        """The docs example prints each init's dependencies, modules in step 1, plugin in 2."""
        result = run_cli(
            ["graph", "--config", "app-config.yaml"], cwd=EXAMPLES, env=cli_env(EXAMPLES)
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(
            "Wiring of 3 plugins and 2 modules (config: app-config.yaml, env)\n"
        )
        assert EXAMPLE_TEXT in result.stdout
        assert (
            "  extensionPoint{todo.actions}: registered by plugin 'todo'; used by module "
            "'github' for plugin 'todo', module 'jira' for plugin 'todo'\n"
        ) in result.stdout

    def test_module_order_matches_the_initializer(
        self, site: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A module providing an extension point comes after every module using it, as at start."""
        prefix, _ = _write_shop(site)
        code, out, _ = _graph(site, capsys)
        assert code == 0
        steps = re.findall(r"^  (\d)\. (module '\w+'|plugin init)", out, re.MULTILINE)
        assert steps == [
            ("1", "module 'b'"),
            ("1", "module 'a'"),
            ("2", "module 'core'"),
            ("3", "plugin init"),
        ]

        async def start_and_stop() -> None:
            backend = build_backend()
            await backend.start()
            await backend.stop()

        asyncio.run(start_and_stop())
        node = __import__(f"{prefix}_node")
        order: list[str] = node.ORDER
        assert sorted(order[:2]) == ["a", "b"]
        assert order[2:] == ["core", "plugin"]

    def test_graph_runs_no_factory_and_no_init(
        self, site: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Service factories and inits are only described: neither runs."""
        marker = site / "ran.txt"
        write_package(
            site,
            "sideeffects_pkg",
            f"""
            from pathlib import Path
            from di_backend import (
                create_backend_plugin, create_service_factory, create_service_ref, inject,
            )

            clock = create_service_ref(id="demo.clock", scope="root")

            def make_clock() -> str:
                Path({str(marker)!r}).write_text("factory")
                return "tick"

            clock_factory = create_service_factory(clock, make_clock)

            def register(env):
                async def init(c: str = inject(clock)) -> None:
                    Path({str(marker)!r}).write_text("init")

                env.register_init(init)

            plugin = create_backend_plugin(plugin_id="sideeffects", register=register)
            """,
        )
        write_config(
            site,
            "backend:\n  features: ['sideeffects_pkg:clock_factory', 'sideeffects_pkg:plugin']\n",
        )
        code, out, err = _graph(site, capsys)
        assert (code, err) == (0, "")
        assert not marker.exists()
        assert (
            "c  serviceRef{demo.clock}  root scope, factory from backend.features[0] "
            "'sideeffects_pkg:clock_factory'"
        ) in out

    def test_wiring_problems_are_listed_and_exit_1(
        self, site: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A missing dependency is shown on the init and in Problems, and the exit code is 1."""
        write_package(
            site,
            "needy_pkg",
            """
            from di_backend import create_backend_plugin, create_service_ref, inject

            db = create_service_ref(id="demo.database")

            def register(env):
                async def init(database: object = inject(db)) -> None: ...

                env.register_init(init)

            default = create_backend_plugin(plugin_id="needy", register=register)
            """,
        )
        write_config(site, "backend: {features: [needy_pkg]}\n")
        code, out, err = _graph(site, capsys)
        assert code == 1
        problem = (
            "plugin 'needy': MissingDependencyError: Service or extension point dependencies "
            "of plugin 'needy' are missing for the following ref(s): serviceRef{demo.database}"
        )
        assert out.endswith(f"Problems (1): `di-backend start` would report these\n  {problem}\n")
        assert "database  serviceRef{demo.database}  plugin scope, MISSING" in out
        assert err == "1 wiring problem(s); see the end of the output\n"

    def test_services_the_backend_provides_are_not_problems(
        self, site: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Plugin metadata and instance metadata count as provided, as they are at start."""
        write_package(
            site,
            "metadata_pkg",
            """
            from di_backend import core_services, create_backend_plugin, inject
            from di_backend.services import PluginMetadataService, RootInstanceMetadataService

            def register(env):
                async def init(
                    plugin: PluginMetadataService = inject(core_services.plugin_metadata),
                    installed: RootInstanceMetadataService = inject(
                        core_services.root_instance_metadata
                    ),
                ) -> None: ...

                env.register_init(init)

            default = create_backend_plugin(plugin_id="meta", register=register)
            """,
        )
        write_config(site, "backend: {features: [metadata_pkg]}\n")
        code, out, err = _graph(site, capsys)
        assert (code, err) == (0, "")
        lines = [" ".join(line.split()) for line in out.splitlines()]
        assert (
            "installed serviceRef{core.rootInstanceMetadata} root scope, provided by the backend"
        ) in lines
        assert (
            "plugin serviceRef{core.pluginMetadata} plugin scope, provided by the backend" in lines
        )

    def test_loaders_are_expanded_when_they_need_only_config(
        self, site: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A loader on root_config is run; one needing other services is listed, not run."""
        write_package(
            site,
            "loaders_pkg",
            """
            from di_backend import (
                core_services, create_backend_feature_loader, create_backend_plugin,
                create_service_ref, inject,
            )
            from di_backend.services import RootConfigService

            def register(env):
                async def init() -> None: ...

                env.register_init(init)

            def load(config: RootConfigService = inject(core_services.root_config)):
                plugin_id = config.get_string("loaded.id")
                yield create_backend_plugin(plugin_id=plugin_id, register=register)

            secrets = create_service_ref(id="demo.secrets", scope="root")

            def load_more(s: object = inject(secrets)):
                return []

            by_config = create_backend_feature_loader(load)
            by_service = create_backend_feature_loader(load_more)
            """,
        )
        write_config(
            site,
            "backend:\n  features: ['loaders_pkg:by_config', 'loaders_pkg:by_service']\n"
            "loaded: {id: fromloader}\n",
        )
        code, out, _ = _graph(site, capsys)
        assert code == 0
        assert "plugin 'fromloader'" in out
        assert "-> loader output[0]" in out
        assert "Feature loaders not expanded" in out
        assert "needs serviceRef{demo.secrets}" in out

    def test_modules_of_an_absent_plugin_are_marked(
        self, site: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Modules whose plugin is not installed are shown as not starting."""
        write_package(
            site,
            "orphan_pkg",
            """
            from di_backend import create_backend_module

            def register(env):
                async def init() -> None: ...

                env.register_init(init)

            default = create_backend_module(
                plugin_id="ghost", module_id="lonely", register=register
            )
            """,
        )
        write_config(site, "backend: {features: [orphan_pkg]}\n")
        code, out, _ = _graph(site, capsys)
        assert code == 0
        assert "plugin 'ghost' (not installed: its modules do not start)" in out
        assert "  -. module 'lonely'" in out

    def test_unimportable_feature_exits_1_with_the_reason(
        self, site: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A feature that cannot be imported stops the graph with a one-line reason."""
        write_config(site, "backend: {features: [no_such_pkg_for_graph]}\n")
        code, out, err = _graph(site, capsys)
        assert (code, out) == (1, "")
        assert err.startswith(
            "Reading the wiring failed; caused by InvalidFeatureError: Could not import "
            "'no_such_pkg_for_graph' for backend.features[0]"
        )


class TestDiagrams:
    def test_mermaid_flowchart(self, site: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Mermaid output is a flowchart with a subgraph per plugin and ordering arrows."""
        prefix, _ = _write_shop(site)
        code, out, _ = _graph(site, capsys, "--format", "mermaid")
        assert code == 0
        lines = out.splitlines()
        assert lines[0] == "flowchart LR"
        assert f"  subgraph plugin_{prefix}[\"plugin '{prefix}'\"]" in lines
        assert f"  init_{prefix}_a --> init_{prefix}_core" in lines
        assert f"  init_{prefix}_core --> init_{prefix}" in lines
        assert f"  init_{prefix}_core -. registers .-> ep_{prefix}_hooks" in lines
        assert f"  ep_{prefix}_hooks -. used by .-> init_{prefix}_b" in lines
        assert f'    init_{prefix}_core["2. module #quot;core#quot;"]' not in lines
        assert f"    init_{prefix}_core[\"2. module 'core'\"]" in lines

    def test_dot_digraph(self, site: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """DOT output is one digraph with a cluster per plugin and ordering edges."""
        prefix, _ = _write_shop(site)
        code, out, _ = _graph(site, capsys, "--format", "dot")
        assert code == 0
        lines = out.splitlines()
        assert lines[0] == "digraph di_backend {"
        assert lines[-1] == "}"
        assert out.count("{") == out.count("}")
        assert f'  subgraph "cluster_{prefix}" {{' in lines
        assert f"  init_{prefix}_b -> init_{prefix}_core;" in lines
        assert (
            f'  init_{prefix}_core -> ep_{prefix}_hooks [style=dashed, label="registers"];' in lines
        )
        assert f"    init_{prefix} [label=\"3. plugin '{prefix}' init\"];" in lines

    def test_unknown_format_is_a_usage_error(
        self, site: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Only text, mermaid and dot are accepted."""
        with pytest.raises(SystemExit) as exit_info:
            _graph(site, capsys, "--format", "svg")
        assert exit_info.value.code == 2
        assert "invalid choice: 'svg'" in capsys.readouterr().err


REFUSED_PLUGIN = """
from di_backend import core_services, create_backend_plugin, create_extension_point, inject

point = create_extension_point(id="{prefix}.point")


def register(env):
    env.register_extension_point(point, object())

    async def init(own=inject(point)):
        pass

    env.register_init(init)


def register_ok(env):
    async def init(logger=inject(core_services.logger)):
        pass

    env.register_init(init)


refused = create_backend_plugin(plugin_id="{prefix}-refused", register=register)
fine = create_backend_plugin(plugin_id="{prefix}-fine", register=register_ok)
"""


def test_a_plugin_whose_registration_is_refused_shows_as_failing(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plugin injecting an extension point is shown failing; the rest is still read."""
    prefix = f"ep{uuid.uuid4().hex[:6]}"
    write_package(site, prefix, _fill(REFUSED_PLUGIN, prefix=prefix))
    write_config(site, f"backend: {{features: ['{prefix}:refused', '{prefix}:fine']}}\n")
    code, out, _ = _graph(site, capsys)
    assert code == 1
    assert f"plugin '{prefix}-fine'\n  1. plugin init" in out
    problem = (
        f"plugin '{prefix}-refused': RegistrationError: Rejected dependency on extension point "
        f"{prefix}.point from outside of a module"
    )
    assert problem in out
    assert "only modules may use extension points" in out


def test_services_lists_which_service_needs_which() -> None:
    """``--services`` adds each service the inits need with the services it needs."""
    result = run_cli(
        ["graph", "--config", "app-config.yaml", "--services"], cwd=EXAMPLES, env=cli_env(EXAMPLES)
    )
    assert result.returncode == 0, result.stderr
    _, _, section = result.stdout.partition("\nServices (which service needs which)\n")
    assert (
        "  serviceRef{core.httpAuth} (plugin scope, default factory) needs serviceRef{core.auth}"
        in section.splitlines()
    )
    assert "  serviceRef{core.rootConfig} (root scope, default factory) needs nothing" in section
    plain = run_cli(["graph", "--config", "app-config.yaml"], cwd=EXAMPLES, env=cli_env(EXAMPLES))
    assert "Services (which service needs which)" not in plain.stdout
