"""The ``todo`` plugin's node library: what other packages need to work with the plugin.

Modules depend on this small package, never on the plugin package itself
(Backstage's ``-node`` packages): the actions extension point for modules of
``todo``, and :class:`TodoClient` for plugins that call ``todo`` over HTTP,
wherever it runs.
"""

from todo_node.actions import TodoAction, TodoActionsExtensionPoint, todo_actions_extension_point
from todo_node.client import TODO_PLUGIN_ID, TodoBadGatewayError, TodoClient

__all__ = [
    "TODO_PLUGIN_ID",
    "TodoAction",
    "TodoActionsExtensionPoint",
    "TodoBadGatewayError",
    "TodoClient",
    "todo_actions_extension_point",
]
