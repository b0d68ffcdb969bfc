"""The ``todo`` backend plugin; modules extend it through ``todo_node``."""

from todo_backend.plugin import todo_plugin

default = todo_plugin
"""The feature that ``backend.add("todo_backend")`` installs."""

__all__ = ["default", "todo_plugin"]
