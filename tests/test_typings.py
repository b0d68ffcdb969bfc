"""The typing mistakes a type checker cannot see are caught at run time; the static checks are live.

``typings/`` pins what mypy and pyright catch (see ``docs/typing.md``). Two wiring
mistakes are well-typed and are rejected by di_backend itself, before anything
starts: a root factory that depends on a plugin-scoped service (when the factory is
created) and a plugin init that depends on an extension point (when the backend
reads its features). The last test runs mypy once on a file with deliberate
mistakes, so a broken type-checker setup cannot pass silently.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Protocol

import pytest

from di_backend import (
    ExtensionPoint,
    PluginRegistrationPoints,
    ServiceRef,
    core_services,
    create_backend_plugin,
    create_extension_point,
    create_service_factory,
    create_service_ref,
    create_specialized_backend,
    inject,
)
from di_backend.errors import InvalidDependencyError, RegistrationError
from di_backend.services import LoggerService

ROOT = Path(__file__).resolve().parents[1]


class Clock(Protocol):
    def now(self) -> float: ...


class TodoExtension(Protocol):
    def add_action(self, name: str) -> None: ...


class FixedClock:
    def __init__(self, logger: LoggerService) -> None:
        self.logger = logger

    def now(self) -> float:
        return 0.0


def test_root_factory_depending_on_plugin_service_fails_at_creation() -> None:
    """A root-scoped factory that injects a plugin-scoped ref raises from create_service_factory."""
    clock: ServiceRef[Clock] = create_service_ref(id="todo.clock", scope="root")

    def make_clock(logger: LoggerService = inject(core_services.logger)) -> Clock:
        return FixedClock(logger)

    with pytest.raises(InvalidDependencyError) as caught:
        create_service_factory(clock, make_clock)
    assert str(caught.value).startswith(
        "Failed to instantiate 'root' scoped service 'todo.clock' because it depends on "
        "'plugin' scoped service 'core.logger'. This is a wiring error: "
    )
    assert "in parameter 'logger'" in str(caught.value)
    assert "inject 'core.rootLogger' instead" in str(caught.value)


async def test_plugin_init_depending_on_extension_point_fails_before_start() -> None:
    """A plugin init that injects an extension point fails when the backend reads its features."""
    todo_ext: ExtensionPoint[TodoExtension] = create_extension_point(id="todo.extension")
    started: list[str] = []

    def register(env: PluginRegistrationPoints) -> None:
        async def init(ext: TodoExtension = inject(todo_ext)) -> None:
            started.append("todo")

        env.register_init(init)

    def register_other(env: PluginRegistrationPoints) -> None:
        def init() -> None:
            started.append("other")

        env.register_init(init)

    backend = create_specialized_backend()
    backend.add(create_backend_plugin(plugin_id="other", register=register_other))
    backend.add(create_backend_plugin(plugin_id="todo", register=register))
    try:
        with pytest.raises(RegistrationError) as caught:
            await backend.start()
    finally:
        await backend.stop()
    message = str(caught.value)
    assert message.startswith(
        "Rejected dependency on extension point todo.extension from outside of a module: the init "
    )
    assert "of plugin 'todo' injects it in parameter 'ext'" in message
    assert "only modules may use extension points" in message
    assert started == []


MISTAKES = """\
from di_backend import core_services, create_service_ref, inject
from di_backend.services import LoggerService

untyped = create_service_ref(id="todo.untyped")


async def init(logger: LoggerService = inject(core_services.root_config)) -> None: ...
"""


def test_mypy_rejects_deliberate_mistakes(tmp_path: Path) -> None:
    """The project's mypy --strict config reports a mistyped inject and an unannotated ref."""
    pytest.importorskip("mypy")
    source = tmp_path / "typing_mistakes.py"
    source.write_text(MISTAKES)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy_cache"),
            "--no-error-summary",
            str(source),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    assert any(
        line.startswith(f'{source}:4: error: Need type annotation for "untyped"')
        and line.endswith("[var-annotated]")
        for line in lines
    ), completed.stdout
    assert any(
        line.startswith(f'{source}:7: error: Incompatible default for parameter "logger"')
        and line.endswith("[assignment]")
        for line in lines
    ), completed.stdout
    assert len(lines) == 2, completed.stdout
