"""The type-checker messages ``docs/typing.md`` quotes are what mypy --strict and pyright say.

Every ``<!-- doc-test: typecheck -->`` block of the page becomes a module that imports
the names it uses from a shared context (the refs, protocols and objects the page's
fragments take for granted), and both checkers run once over all of them. For each
block, every message quoted in the ``- mypy...`` and ``- pyright...`` bullets after it
(and in ``# mypy:`` comments inside it) must be reported for that block; a checker the
page quotes nothing for must report nothing.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from docs_support import DOCS, REPO, DocBlock, read_blocks

BLOCKS = [block for block in read_blocks(DOCS / "typing.md") if block.kind == "typecheck"]

CONTEXT = '''\
"""What the fragments of docs/typing.md take for granted."""

from collections.abc import Mapping
from typing import Protocol

from di_backend import (
    Backend,
    BackendPlugin,
    ExtensionPoint,
    MultitonServiceRef,
    PluginRegistrationPoints,
    ServiceRef,
    core_services,
    create_backend_plugin,
    create_extension_point,
    create_service_factory,
    create_service_ref,
    create_specialized_backend,
    inject,
)
from di_backend.config import ConfigReader
from di_backend.services import LoggerService, RootConfigService


class Database(Protocol):
    def query(self, sql: str) -> list[str]: ...


class Action(Protocol):
    name: str


class TodoStore(Protocol):
    def titles(self) -> list[str]: ...


class TodoExtension(Protocol):
    def add_action(self, action: Action) -> None: ...


class NotAnExtension:
    pass


class PoolContext:
    pass


def _env() -> PluginRegistrationPoints: ...


database: ServiceRef[Database] = create_service_ref(id="todo.database")
todo_store: ServiceRef[TodoStore] = create_service_ref(id="todo.store")
actions: MultitonServiceRef[Action] = create_service_ref(id="todo.actions", multiton=True)
todo_ext: ExtensionPoint[TodoExtension] = create_extension_point(id="todo.extension")
env = _env()
backend: Backend = create_specialized_backend()
config: RootConfigService = ConfigReader({})
todo_plugin: BackendPlugin = create_backend_plugin(plugin_id="todo", register=lambda env: None)

__all__ = [
    "Action", "Database", "ExtensionPoint", "LoggerService", "Mapping", "MultitonServiceRef",
    "NotAnExtension", "PoolContext", "ServiceRef", "TodoExtension", "TodoStore", "actions",
    "backend", "config", "core_services", "create_extension_point", "create_service_factory",
    "create_service_ref", "database", "env", "inject", "todo_ext", "todo_plugin", "todo_store",
]
'''
CONTEXT_NAMES = set(re.findall(r'"(\w+)"', CONTEXT.split("__all__ = ")[1]))


def _module(block: DocBlock) -> str:
    """The block, preceded by an import of the context names it uses but does not define."""
    tree = ast.parse(block.code)
    bound = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    } | {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names = sorted((used & CONTEXT_NAMES) - bound)
    header = f"from doc_typing_context import {', '.join(names)}\n" if names else ""
    return f"{header}\n\n{block.code}"


def _quoted(block: DocBlock, checker: str) -> list[str]:
    """The messages the page quotes for ``checker`` about this block."""
    bullets = [line for line in block.after.splitlines() if re.match(rf"- {checker}\b", line)]
    quoted = [text for line in bullets for text in re.findall(r"`([^`]+)`", line)]
    comment = re.findall(rf"# {checker}: (.*(?:\n#\s+.*)*)", block.code)
    quoted += [" ".join(part.strip("# ").strip() for part in text.splitlines()) for text in comment]
    return quoted


def _file(block: DocBlock) -> str:
    return f"block_{block.line}.py"


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Run both checkers once over every block; return each checker's output per file."""
    pytest.importorskip("mypy")
    root = tmp_path_factory.mktemp("typing_docs")
    (root / "doc_typing_context.py").write_text(CONTEXT, encoding="utf-8")
    for block in BLOCKS:
        (root / _file(block)).write_text(_module(block), encoding="utf-8")
    files = [_file(block) for block in BLOCKS]
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"),
         "--cache-dir", str(REPO / ".mypy_cache"), "--no-error-summary",
         "--disable-error-code", "empty-body",  # the fragments leave bodies out (`...`)
         str(root / "doc_typing_context.py"), *(str(root / name) for name in files)],
        capture_output=True, text=True, cwd=REPO, check=False, timeout=600,
    )  # fmt: skip
    (root / "pyrightconfig.json").write_text(
        json.dumps(
            {
                "typeCheckingMode": "strict",
                "pythonVersion": "3.11",
                "extraPaths": [str(REPO)],  # di_backend is an editable install
                "venvPath": str(Path(sys.prefix).parent),
                "venv": Path(sys.prefix).name,
            }
        ),
        encoding="utf-8",
    )
    pyright = subprocess.run(
        [str(Path(sys.executable).parent / "pyright"), "--outputjson",
         "doc_typing_context.py", *files],
        capture_output=True, text=True, cwd=root, check=False, timeout=600,
    )  # fmt: skip
    outputs: dict[str, dict[str, str]] = {"mypy": {}, "pyright": {}}
    for line in mypy.stdout.splitlines():
        name = Path(line.split(":", 1)[0]).name
        outputs["mypy"][name] = outputs["mypy"].get(name, "") + line + "\n"
    report = json.loads(pyright.stdout)
    for diagnostic in report["generalDiagnostics"]:
        if diagnostic["severity"] == "error":
            name = Path(diagnostic["file"]).name
            text = f"{diagnostic['message']} ({diagnostic.get('rule', '')})\n"
            outputs["pyright"][name] = outputs["pyright"].get(name, "") + text
    assert "doc_typing_context.py" not in outputs["mypy"], outputs["mypy"]
    assert "doc_typing_context.py" not in outputs["pyright"], outputs["pyright"]
    return outputs


def test_the_page_has_typecheck_blocks() -> None:
    """The page's accepted and rejected fragments are type-checked, not just shown."""
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_checker_says_what_the_page_quotes(
    block: DocBlock, checker: str, checked: dict[str, dict[str, str]]
) -> None:
    """Each quoted message is reported for its block; an unquoted checker reports nothing."""
    output = checked[checker].get(_file(block), "")
    quoted = _quoted(block, checker)
    if not quoted:
        assert output == "", f"{block.id}: {checker} reports what the page does not say:\n{output}"
    for message in quoted:
        assert message in output, f"{block.id}: {checker} does not say {message!r}:\n{output}"
