"""Entry-point discovery (``backend.packages``) and ``backend.features`` feature loading."""

from __future__ import annotations

import importlib
import re
import signal
import sys
import uuid
from pathlib import Path

import pytest
from cli_support import (
    RunningCli,
    cli_env,
    log_records,
    message_is,
    plugin_source,
    write_config,
    write_distribution,
    write_package,
)

from di_backend import BackendPlugin
from di_backend._feature_loaders import (
    features_from_config,
    features_from_packages,
    normalize_distribution_name,
)
from di_backend.cli._start import build_backend
from di_backend.config import ConfigReader
from di_backend.errors import ConfigError, InvalidFeatureError
from di_backend.services import JsonValue


@pytest.fixture(name="site")
def _site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on ``sys.path`` for packages and ``*.dist-info`` records."""
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    importlib.invalidate_caches()
    return tmp_path


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def _install(site: Path, dist: str, plugin_id: str, entry: str = "plugin") -> str:
    """Install a distribution offering one plugin; return its package name."""
    package = _unique("pkg_")
    write_package(site, package, plugin_source(plugin_id))
    write_distribution(site, dist, {entry: f"{package}:plugin"})
    return package


def _plugin_ids(data: dict[str, JsonValue]) -> list[str]:
    found = features_from_packages(ConfigReader(data, "test"))
    return [f.feature.plugin_id for f in found if isinstance(f.feature, BackendPlugin)]


class TestPackageSelection:
    def test_nothing_is_discovered_when_backend_packages_is_unset(self, site: Path) -> None:
        """Installed distributions are ignored unless ``backend.packages`` selects them."""
        _install(site, _unique("acme-"), "unset")
        assert _plugin_ids({}) == []
        assert _plugin_ids({"backend": {"packages": {}}}) == []

    def test_all_discovers_every_distribution_with_origins(self, site: Path) -> None:
        """``backend.packages: all`` loads every entry point and records where it came from."""
        dist = _unique("acme-all-")
        _install(site, dist, "everything", entry="todo")
        found = features_from_packages(ConfigReader({"backend": {"packages": "all"}}, "test"))
        origins = {f.origin for f in found}
        assert f"entry point 'todo' of distribution '{dist}'" in origins

    def test_include_selects_by_normalised_distribution_name(self, site: Path) -> None:
        """Only included distributions load; names match after PEP 503 normalisation."""
        wanted, other = _unique("Acme_Wanted."), _unique("acme-other-")
        _install(site, wanted, "wanted")
        _install(site, other, "other")
        include: list[JsonValue] = [wanted.upper().replace(".", "-")]
        assert _plugin_ids({"backend": {"packages": {"include": include}}}) == ["wanted"]

    def test_exclude_removes_distributions(self, site: Path) -> None:
        """Excluded distributions do not load; the others do."""
        kept, dropped = _unique("acme-kept-"), _unique("acme-dropped-")
        _install(site, kept, "kept")
        _install(site, dropped, "dropped")
        ids = _plugin_ids({"backend": {"packages": {"exclude": [dropped]}}})
        assert "kept" in ids
        assert "dropped" not in ids

    def test_include_of_an_unknown_distribution_is_a_config_error(self, site: Path) -> None:
        """Including a distribution that offers no entry points names it and the config key."""
        message = (
            "Invalid config at backend.packages.include: 'not-installed' offer no "
            "'di_backend.features' entry points; install the distribution or remove it "
            "from the list"
        )
        with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
            _plugin_ids({"backend": {"packages": {"include": ["not-installed"]}}})

    @pytest.mark.parametrize("value", [42, "some", {"only": ["x"]}], ids=["number", "str", "key"])
    def test_malformed_backend_packages_is_a_config_error(
        self, site: Path, value: JsonValue
    ) -> None:
        """``backend.packages`` must be ``all`` or an object with include/exclude."""
        with pytest.raises(ConfigError, match=r"^Invalid config at backend\.packages, expected"):
            _plugin_ids({"backend": {"packages": value}})

    def test_distribution_names_are_normalised(self) -> None:
        """Runs of ``-``, ``_`` and ``.`` become one dash and letters are lower-cased."""
        assert normalize_distribution_name("Acme__Todo.-Backend") == "acme-todo-backend"


class TestEntryPoints:
    def test_entry_point_naming_a_module_uses_its_default(self, site: Path) -> None:
        """An entry point without ``:attr`` adds the module's ``default`` feature."""
        package = _unique("pkg_")
        write_package(site, package, plugin_source("bymodule"))
        dist = _unique("acme-mod-")
        write_distribution(site, dist, {"main": package})
        assert _plugin_ids({"backend": {"packages": {"include": [dist]}}}) == ["bymodule"]

    def test_entry_point_that_is_not_a_feature_names_the_distribution(self, site: Path) -> None:
        """An entry point naming something else is rejected with the distribution and entry."""
        package = _unique("pkg_")
        write_package(site, package, "value = 42\n")
        dist = _unique("acme-bad-")
        write_distribution(site, dist, {"oops": f"{package}:value"})
        message = (
            f"The entry point 'oops = {package}:value' of distribution '{dist}' "
            "(group 'di_backend.features') must name a plugin, module, service factory or "
            "feature loader, received 42"
        )
        with pytest.raises(InvalidFeatureError, match=f"^{re.escape(message)}$"):
            _plugin_ids({"backend": {"packages": {"include": [dist]}}})

    def test_entry_point_that_fails_to_import_names_the_distribution(self, site: Path) -> None:
        """An import error while loading an entry point names it and carries the cause."""
        dist = _unique("acme-missing-")
        write_distribution(site, dist, {"gone": "no_such_module_xyz:plugin"})
        message = (
            f"Could not load entry point 'gone = no_such_module_xyz:plugin' of distribution "
            f"'{dist}' (group 'di_backend.features'); caused by ModuleNotFoundError: "
            "No module named 'no_such_module_xyz'"
        )
        with pytest.raises(InvalidFeatureError, match=f"^{re.escape(message)}$"):
            _plugin_ids({"backend": {"packages": {"include": [dist]}}})


class TestConfiguredFeatures:
    def test_backend_features_are_imported_in_order(self, site: Path) -> None:
        """Every import string of ``backend.features`` becomes a feature, origin included."""
        first, second = _unique("pkg_"), _unique("pkg_")
        write_package(site, first, plugin_source("first"))
        write_package(site, second, plugin_source("second"))
        data: dict[str, JsonValue] = {"backend": {"features": [first, f"{second}:plugin"]}}
        found = features_from_config(ConfigReader(data, "test"))
        assert [f.origin for f in found] == [
            f"backend.features[0] '{first}'",
            f"backend.features[1] '{second}:plugin'",
        ]

    def test_feature_module_raising_on_import_names_the_config_key(self, site: Path) -> None:
        """A listed module that raises while importing is reported with its config key."""
        package = _unique("pkg_")
        write_package(site, package, "raise RuntimeError('import-time failure')\n")
        data: dict[str, JsonValue] = {"backend": {"features": [package]}}
        message = (
            f"Could not import backend.features[0] '{package}'; caused by RuntimeError: "
            "import-time failure"
        )
        with pytest.raises(InvalidFeatureError, match=f"^{re.escape(message)}$"):
            features_from_config(ConfigReader(data, "test"))


class TestDiscoveryInBackends:
    async def test_built_backend_starts_discovered_and_configured_plugins(
        self, site: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The ``start`` backend adds both configured features and discovered entry points."""
        dist = _unique("acme-started-")
        _install(site, dist, "discovered")
        listed = _unique("pkg_")
        write_package(site, listed, plugin_source("listed"))
        write_config(
            site, f"backend:\n  features: [{listed}]\n  packages:\n    include: [{dist}]\n"
        )
        monkeypatch.chdir(site)
        backend = build_backend()
        result = await backend.start()
        await backend.stop()
        assert sorted(p.plugin_id for p in result.plugins) == ["discovered", "listed"]

    def test_cli_starts_a_discovered_distribution(self, tmp_path: Path) -> None:
        """``di-backend start`` with ``backend.packages: all`` runs an installed distribution."""
        dist = _unique("acme-cli-")
        _install(tmp_path, dist, "fromdist")
        write_config(tmp_path, "backend: {packages: all}\n")
        with RunningCli(["start"], cwd=tmp_path, env=cli_env(tmp_path)) as cli:
            cli.wait_for(message_is("started fromdist"))
            summary = cli.wait_for(message_is("Backend started in"))
            cli.send(signal.SIGTERM)
            code, stderr = cli.finish()
        assert code == 0, stderr
        plugins = log_records([summary])[0]["plugins"]
        assert isinstance(plugins, list)
        assert "fromdist" in plugins
