"""The ``todo`` plugin: collects actions from its modules, then runs them once."""

from todo_node import TodoAction, todo_actions_extension_point

from di_backend import PluginRegistrationPoints, core_services, create_backend_plugin, inject
from di_backend.errors import ConflictError
from di_backend.services import LoggerService, RootConfigService


class ActionRegistry:
    """The plugin's implementation of the extension point; it can do more than the interface."""

    def __init__(self) -> None:
        """Start with no actions."""
        self.actions: dict[str, TodoAction] = {}

    def add_action(self, action: TodoAction) -> None:
        """Add an action; names must be unique."""
        if action.name in self.actions:
            msg = f"Todo action '{action.name}' is already registered"
            raise ConflictError(msg)
        self.actions[action.name] = action


def _register(env: PluginRegistrationPoints) -> None:
    registry = ActionRegistry()
    env.register_extension_point(todo_actions_extension_point, registry)

    async def init(
        logger: LoggerService = inject(core_services.logger),
        config: RootConfigService = inject(core_services.root_config),
    ) -> None:
        # Every module has run by now: modules start before their plugin.
        names = ", ".join(sorted(registry.actions)) or "none"
        logger.info(f"Todo actions: {names}")
        title = config.get_optional_string("todo.firstItem") or "Write the docs"
        for action in registry.actions.values():
            logger.info(await action.run(title), {"action": action.name})

    env.register_init(init)


todo_plugin = create_backend_plugin(plugin_id="todo", register=_register)
"""The ``todo`` plugin."""
