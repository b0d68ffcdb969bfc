"""Startup results: what ``Backend.start`` reports, and the boot-failure policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from di_backend.services import ConfigService, LoggerService


__all__ = [
    "BackendStartupResult",
    "ModuleStartupResult",
    "PluginStartupResult",
    "ResultCollector",
    "StartupFailure",
    "boot_failure_policy",
]


@dataclass(frozen=True, slots=True)
class StartupFailure:
    """Why a plugin or module failed to start.

    Attributes:
        error: the original exception.
        allowed: whether ``backend.startup`` config permits this failure.
    """

    error: BaseException
    allowed: bool


@dataclass(frozen=True, slots=True)
class ModuleStartupResult:
    """How one module's start went.

    Attributes:
        module_id: the module id.
        result_at: when it finished.
        failure: ``None`` when it started.
    """

    module_id: str
    result_at: datetime
    failure: StartupFailure | None = None


@dataclass(frozen=True, slots=True)
class PluginStartupResult:
    """How one plugin's start went, with its modules in completion order.

    Attributes:
        plugin_id: the plugin id.
        result_at: when it finished.
        failure: ``None`` when it started.
        modules: its modules' results.
    """

    plugin_id: str
    result_at: datetime
    failure: StartupFailure | None = None
    modules: tuple[ModuleStartupResult, ...] = ()


@dataclass(frozen=True, slots=True)
class BackendStartupResult:
    """How the whole start went; plugins are listed in completion order.

    Attributes:
        begin_at: when ``start`` began.
        result_at: when the result was settled.
        outcome: ``"success"``, or ``"failure"`` if any failure was not allowed.
        plugins: the plugins' results.
    """

    begin_at: datetime
    result_at: datetime
    outcome: Literal["success", "failure"]
    plugins: tuple[PluginStartupResult, ...] = ()


FailurePolicy = Callable[[str, str | None], bool]


def boot_failure_policy(config: ConfigService | None) -> FailurePolicy:
    """Read ``backend.startup`` once; return ``allowed(plugin_id, module_id)``.

    ``continue`` allows a failure, ``abort`` (the default) does not. A module
    uses its own override, else ``default.onPluginModuleBootFailure``.
    """
    startup = config.get_optional_config("backend.startup") if config is not None else None
    if startup is None:
        return lambda _plugin_id, _module_id: False
    default_plugin = startup.get_optional_string("default.onPluginBootFailure") or "abort"
    default_module = startup.get_optional_string("default.onPluginModuleBootFailure") or "abort"
    plugins = startup.get_optional_config("plugins")
    overrides: dict[tuple[str, str | None], str] = {}
    for plugin_id in plugins.keys() if plugins is not None else ():
        assert plugins is not None
        plugin = plugins.get_config(plugin_id)
        value = plugin.get_optional_string("onPluginBootFailure")
        if value is not None:
            overrides[(plugin_id, None)] = value
        modules = plugin.get_optional_config("modules")
        for module_id in modules.keys() if modules is not None else ():
            assert modules is not None
            module_value = modules.get_optional_string(f"{module_id}.onPluginModuleBootFailure")
            if module_value is not None:
                overrides[(plugin_id, module_id)] = module_value

    def allowed(plugin_id: str, module_id: str | None) -> bool:
        default = default_plugin if module_id is None else default_module
        return overrides.get((plugin_id, module_id), default) == "continue"

    return allowed


class _PluginEntry:
    __slots__ = ("failure", "modules", "result_at")

    def __init__(self) -> None:
        self.failure: StartupFailure | None = None
        self.result_at: datetime | None = None
        self.modules: list[ModuleStartupResult] = []


class ResultCollector:
    """Collects plugin and module results while the backend starts."""

    def __init__(self, policy: FailurePolicy, logger: LoggerService) -> None:
        """Start collecting; ``policy`` decides which failures are allowed."""
        self._policy = policy
        self._logger = logger
        self._begin_at = datetime.now(UTC)
        self._plugins: dict[str, _PluginEntry] = {}
        # plugins in completion order: a dict, so a membership check is not a scan
        self._order: dict[str, None] = {}
        self._failed = False

    @property
    def failed(self) -> bool:
        """Whether a failure that is not allowed was recorded."""
        return self._failed

    def _entry(self, plugin_id: str) -> _PluginEntry:
        entry = self._plugins.get(plugin_id)
        if entry is None:
            entry = self._plugins[plugin_id] = _PluginEntry()
        return entry

    def plugin_result(self, plugin_id: str, error: BaseException | None = None) -> None:
        """Record that a plugin finished (or failed with ``error``)."""
        entry = self._entry(plugin_id)
        entry.result_at = datetime.now(UTC)
        self._order.setdefault(plugin_id)
        if error is None:
            return
        allowed = self._policy(plugin_id, None)
        entry.failure = StartupFailure(error, allowed)
        if allowed:
            self._logger.error(
                f"Plugin '{plugin_id}' threw an error during startup, but boot failure is "
                "permitted for this plugin so startup will continue.",
                error,
            )
        else:
            self._failed = True
            self._logger.error(f"Plugin '{plugin_id}' threw an error during startup.", error)

    def module_result(
        self, plugin_id: str, module_id: str, error: BaseException | None = None
    ) -> None:
        """Record that a module finished (or failed with ``error``)."""
        failure: StartupFailure | None = None
        if error is not None:
            allowed = self._policy(plugin_id, module_id)
            failure = StartupFailure(error, allowed)
            if allowed:
                self._logger.error(
                    f"Module {module_id} in Plugin '{plugin_id}' threw an error during startup, "
                    "but boot failure is permitted for this plugin module so startup will "
                    "continue.",
                    error,
                )
            else:
                self._failed = True
                self._logger.error(
                    f"Module {module_id} in Plugin '{plugin_id}' threw an error during startup.",
                    error,
                )
        self._entry(plugin_id).modules.append(
            ModuleStartupResult(module_id, datetime.now(UTC), failure)
        )

    def finalize(self) -> BackendStartupResult:
        """Settle the result; plugins in completion order."""
        now = datetime.now(UTC)
        entries = self._plugins
        plugins = tuple(
            PluginStartupResult(
                plugin_id,
                entries[plugin_id].result_at or now,
                entries[plugin_id].failure,
                tuple(entries[plugin_id].modules),
            )
            for plugin_id in {**self._order, **dict.fromkeys(entries)}
        )
        outcome: Literal["success", "failure"] = "failure" if self._failed else "success"
        return BackendStartupResult(self._begin_at, now, outcome, plugins)
