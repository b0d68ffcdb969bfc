"""Module ``github`` of plugin ``todo``: an action that files a GitHub issue."""

from todo_backend_module_github.module import todo_module_github

default = todo_module_github
"""The feature that ``backend.add("todo_backend_module_github")`` installs."""

__all__ = ["default", "todo_module_github"]
