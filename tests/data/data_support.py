"""Helpers of the data-service tests: a plugin from an init, a backend over a config."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from di_backend import (
    Backend,
    BackendFeature,
    BackendPlugin,
    PluginRegistrationPoints,
    create_backend_plugin,
)
from di_backend.testing import mock_services, start_test_backend

Init = Callable[..., Awaitable[None]]


def plugin(plugin_id: str, init: Init) -> BackendPlugin:
    """A plugin whose init is ``init``."""

    def register(env: PluginRegistrationPoints) -> None:
        env.register_init(init)

    return create_backend_plugin(plugin_id=plugin_id, register=register)


async def backend_with(
    config: Mapping[str, Any], *features: BackendFeature, extra: Sequence[BackendFeature] = ()
) -> Backend:
    """A started test backend with ``config`` as its root config."""
    return await start_test_backend(
        features=[*features, *extra, mock_services.root_config.factory(data=dict(config))]
    )
