"""The ``todo`` plugin's node library: what modules need to extend the plugin.

Modules depend on this small package, never on the plugin package itself
(Backstage's ``-node`` packages).
"""

from todo_node.actions import TodoAction, TodoActionsExtensionPoint, todo_actions_extension_point

__all__ = ["TodoAction", "TodoActionsExtensionPoint", "todo_actions_extension_point"]
