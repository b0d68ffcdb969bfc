"""Module ``jira`` of plugin ``todo``: an action that files a Jira ticket."""

from todo_backend_module_jira.module import todo_module_jira

default = todo_module_jira
"""The feature that ``backend.add("todo_backend_module_jira")`` installs."""

__all__ = ["default", "todo_module_jira"]
