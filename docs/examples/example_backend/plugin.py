"""The ``example`` plugin."""

from di_backend import PluginRegistrationPoints, core_services, create_backend_plugin, inject
from di_backend.services import LoggerService, RootConfigService


def _register(env: PluginRegistrationPoints) -> None:
    async def init(
        logger: LoggerService = inject(core_services.logger),
        config: RootConfigService = inject(core_services.root_config),
    ) -> None:
        message = config.get_optional_string("example.message") or "(no example.message set)"
        logger.info(f"Hello from example plugin: {message}")

    env.register_init(init)


example_plugin = create_backend_plugin(plugin_id="example", register=_register)
"""A plugin that logs ``Hello from example plugin: <example.message>`` at start."""
