"""The ``github`` module of the ``todo`` plugin."""

from dataclasses import dataclass

from todo_node import TodoActionsExtensionPoint, todo_actions_extension_point

from di_backend import ModuleRegistrationPoints, core_services, create_backend_module, inject
from di_backend.services import RootConfigService


@dataclass(frozen=True)
class GithubIssueAction:
    """Pretends to open an issue in a configured repository."""

    repository: str
    name: str = "github.create-issue"

    async def run(self, title: str) -> str:
        """Describe the issue that would be opened."""
        return f"Would open issue '{title}' in {self.repository}"


def _register(env: ModuleRegistrationPoints) -> None:
    async def init(
        actions: TodoActionsExtensionPoint = inject(todo_actions_extension_point),
        config: RootConfigService = inject(core_services.root_config),
    ) -> None:
        repository = config.get_optional_string("todo.github.repository") or "octo/todo"
        actions.add_action(GithubIssueAction(repository))

    env.register_init(init)


todo_module_github = create_backend_module(plugin_id="todo", module_id="github", register=_register)
"""Adds the ``github.create-issue`` action to the ``todo`` plugin."""
