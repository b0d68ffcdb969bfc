"""Helpers shared by the core tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from di_backend import (
    Backend,
    BackendModule,
    BackendPlugin,
    BackendStartupError,
    ModuleRegistrationPoints,
    PluginRegistrationPoints,
    create_backend_module,
    create_backend_plugin,
)

Init = Callable[..., Awaitable[None] | None]


async def startup_error(backend: Backend) -> BackendStartupError:
    """Start ``backend``, which must fail with ``BackendStartupError``; return that error."""
    with pytest.raises(BackendStartupError) as caught:
        await backend.start()
    return caught.value


def plugin(plugin_id: str, init: Init) -> BackendPlugin:
    """A plugin that only registers ``init``."""

    def register(env: PluginRegistrationPoints) -> None:
        env.register_init(init)

    return create_backend_plugin(plugin_id=plugin_id, register=register)


def module(plugin_id: str, module_id: str, init: Init) -> BackendModule:
    """A module that only registers ``init``."""

    def register(env: ModuleRegistrationPoints) -> None:
        env.register_init(init)

    return create_backend_module(plugin_id=plugin_id, module_id=module_id, register=register)


def noop() -> None:
    """An init without dependencies."""
