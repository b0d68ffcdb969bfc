"""The ``todo`` plugin: collects actions from its modules, runs them once, serves their names.

HTTP API, at ``/api/todo`` in whichever backend runs the plugin:

``GET /actions``
    ``{"actions": ["github.create-issue", ...]}``, sorted. Only for services: other
    plugins (with a service token from their ``auth`` service) and external access
    tokens; without credentials the answer is 401.
"""

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router
from todo_node import TodoAction, todo_actions_extension_point

from di_backend import PluginRegistrationPoints, core_services, create_backend_plugin, inject
from di_backend.errors import ConflictError
from di_backend.services import HttpAuthService, HttpRouterService, LoggerService, RootConfigService


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


def actions_router(registry: ActionRegistry, http_auth: HttpAuthService) -> Router:
    """The plugin's routes: ``GET /actions`` lists the action names to service callers."""

    async def list_actions(request: Request) -> JSONResponse:
        # Raises 401 without credentials, 403 for user credentials.
        await http_auth.credentials(request, allow=["service"])
        return JSONResponse({"actions": sorted(registry.actions)})

    return Router([Route("/actions", list_actions, methods=["GET"])])


def _register(env: PluginRegistrationPoints) -> None:
    registry = ActionRegistry()
    env.register_extension_point(todo_actions_extension_point, registry)

    async def init(
        logger: LoggerService = inject(core_services.logger),
        config: RootConfigService = inject(core_services.root_config),
        http_router: HttpRouterService = inject(core_services.http_router),
        http_auth: HttpAuthService = inject(core_services.http_auth),
    ) -> None:
        # Every module has run by now: modules start before their plugin.
        names = ", ".join(sorted(registry.actions)) or "none"
        logger.info(f"Todo actions: {names}")
        title = config.get_optional_string("todo.firstItem") or "Write the docs"
        for action in registry.actions.values():
            logger.info(await action.run(title), {"action": action.name})
        http_router.use(actions_router(registry, http_auth))

    env.register_init(init)


todo_plugin = create_backend_plugin(plugin_id="todo", register=_register)
"""The ``todo`` plugin."""
