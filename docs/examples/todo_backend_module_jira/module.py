"""The ``jira`` module of the ``todo`` plugin."""

from dataclasses import dataclass

from todo_node import TodoActionsExtensionPoint, todo_actions_extension_point

from di_backend import ModuleRegistrationPoints, core_services, create_backend_module, inject
from di_backend.services import LoggerService


@dataclass(frozen=True)
class JiraTicketAction:
    """Pretends to create a ticket in a Jira project."""

    project: str
    name: str = "jira.create-ticket"

    async def run(self, title: str) -> str:
        """Describe the ticket that would be created."""
        return f"Would create ticket '{title}' in Jira project {self.project}"


def _register(env: ModuleRegistrationPoints) -> None:
    async def init(
        actions: TodoActionsExtensionPoint = inject(todo_actions_extension_point),
        logger: LoggerService = inject(core_services.logger),
    ) -> None:
        actions.add_action(JiraTicketAction("TODO"))
        logger.debug("Added the jira.create-ticket action")

    env.register_init(init)


todo_module_jira = create_backend_module(plugin_id="todo", module_id="jira", register=_register)
"""Adds the ``jira.create-ticket`` action to the ``todo`` plugin."""
