"""``env.register_init`` works as a decorator, on plugins and on modules."""

from __future__ import annotations

from di_backend import (
    ModuleRegistrationPoints,
    PluginRegistrationPoints,
    core_services,
    create_backend_module,
    create_backend_plugin,
    inject,
)
from di_backend.services import LoggerService
from di_backend.testing import start_test_backend


async def test_register_init_as_a_decorator_registers_and_returns_the_function() -> None:
    """``@env.register_init`` registers the init and leaves the name bound to it."""
    calls: list[str] = []
    bound: list[object] = []

    def register(env: PluginRegistrationPoints) -> None:
        @env.register_init
        async def init(logger: LoggerService = inject(core_services.logger)) -> None:
            calls.append("plugin")

        bound.append(init)

    def register_module(env: ModuleRegistrationPoints) -> None:
        @env.register_init
        def init() -> None:
            calls.append("module")

        bound.append(init)

    backend = await start_test_backend(
        features=[
            create_backend_plugin(plugin_id="deco", register=register),
            create_backend_module(plugin_id="deco", module_id="extra", register=register_module),
        ]
    )
    await backend.stop()
    assert calls == ["module", "plugin"]
    assert all(callable(fn) for fn in bound)
