"""Testing a plugin: start it in a test backend whose core services are mocks."""

from __future__ import annotations

import re

import pytest

from di_backend import (
    BackendStartupError,
    PluginRegistrationPoints,
    core_services,
    create_backend_plugin,
    create_service_factory,
    inject,
)
from di_backend.services import LoggerService, RootConfigService
from di_backend.testing import (
    AsyncTestBackends,
    SyncTestBackends,
    mock_services,
    start_test_backend,
)

# -- the plugin under test (normally imported from your package) ----------------


def _register(env: PluginRegistrationPoints) -> None:
    async def init(
        config: RootConfigService = inject(core_services.root_config),
        logger: LoggerService = inject(core_services.logger),
    ) -> None:
        limit = config.get_number("todo.limit")
        logger.info(f"The todo list holds {limit} items")

    env.register_init(init)


todo_plugin = create_backend_plugin(plugin_id="todo", register=_register)

# -- the tests ----------------------------------------------------------------------

TODO_CONFIG = mock_services.root_config.factory(data={"todo": {"limit": 3}})


async def test_plugin_logs_its_limit(test_backend: AsyncTestBackends) -> None:
    """The plugin reads ``todo.limit`` and logs it (read from the mock root logger)."""
    root_logger = mock_services.root_logger()
    await test_backend(
        features=[
            todo_plugin,
            TODO_CONFIG,
            create_service_factory(core_services.root_logger, lambda: root_logger),
        ]
    )
    todo_lines = [r.message for r in root_logger.records if r.fields.get("plugin") == "todo"]
    assert todo_lines == ["The todo list holds 3 items"]


async def test_plugin_with_a_recording_logger(test_backend: AsyncTestBackends) -> None:
    """A recording mock replaces the plugin logger; assert on its calls."""
    logger = mock_services.logger.mock()
    await test_backend(features=[todo_plugin, TODO_CONFIG, logger.factory])
    logger.info.assert_called_once_with("The todo list holds 3 items")


async def test_missing_config_fails_startup() -> None:
    """Without ``todo.limit`` the plugin fails and start raises Backstage's message."""
    message = "Plugin 'todo' startup failed; caused by ConfigKeyError"
    with pytest.raises(BackendStartupError, match=re.escape(message)):
        await start_test_backend(features=[todo_plugin])


def test_plugin_from_a_plain_test(sync_test_backend: SyncTestBackends) -> None:
    """A plain (non-async) test uses ``sync_test_backend``; the loop runs on a thread."""
    logger = mock_services.logger.mock()
    sync_test_backend(features=[todo_plugin, TODO_CONFIG, logger.factory])
    logger.info.assert_called_once_with("The todo list holds 3 items")
