"""The ``example`` plugin: says hello, and asks the ``todo`` plugin for its actions over HTTP.

HTTP API, at ``/api/example``:

``GET /hello``
    ``{"message": <example.message>, "todo_actions": [...]}``. Open to anyone (an
    auth policy): the call to ``todo`` is made with the ``example`` plugin's own
    service credentials, never the caller's. When ``todo`` cannot be reached (its
    backend is down, or it does not answer within ``example.todoTimeout``, default
    5 s) the answer is a 503 JSON error naming the plugin and the URL tried.
"""

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router
from todo_node import TodoClient

from di_backend import PluginRegistrationPoints, core_services, create_backend_plugin, inject
from di_backend.http import read_duration
from di_backend.services import (
    AuthService,
    DiscoveryService,
    HttpRouterService,
    LoggerService,
    RootConfigService,
)

DEFAULT_TODO_TIMEOUT = timedelta(seconds=5)
"""How long ``GET /hello`` waits for ``todo`` unless ``example.todoTimeout`` says otherwise."""


def _message(config: RootConfigService) -> str:
    return config.get_optional_string("example.message") or "(no example.message set)"


def hello_router(
    config: RootConfigService, discovery: DiscoveryService, auth: AuthService
) -> Router:
    """The plugin's routes: ``GET /hello`` greets and lists the todo plugin's actions."""

    async def hello(request: Request) -> JSONResponse:
        # Config and discovery are read per request: both may change while running.
        timeout = read_duration(config, "example.todoTimeout", DEFAULT_TODO_TIMEOUT)
        actions = await TodoClient(discovery, auth, timeout=timeout).list_actions()
        return JSONResponse({"message": _message(config), "todo_actions": actions})

    return Router([Route("/hello", hello, methods=["GET"])])


def _register(env: PluginRegistrationPoints) -> None:
    async def init(
        logger: LoggerService = inject(core_services.logger),
        config: RootConfigService = inject(core_services.root_config),
        http_router: HttpRouterService = inject(core_services.http_router),
        discovery: DiscoveryService = inject(core_services.discovery),
        auth: AuthService = inject(core_services.auth),
    ) -> None:
        logger.info(f"Hello from example plugin: {_message(config)}")
        http_router.use(hello_router(config, discovery, auth))
        http_router.add_auth_policy(path="/hello", allow="unauthenticated")

    env.register_init(init)


example_plugin = create_backend_plugin(plugin_id="example", register=_register)
"""A plugin that logs ``Hello from example plugin: <example.message>`` at start and
serves ``GET /api/example/hello``, which calls the ``todo`` plugin wherever it runs."""
