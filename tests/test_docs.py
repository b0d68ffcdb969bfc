"""The documentation's code blocks are run, compared or parsed; none is left unchecked.

Every fenced ``python`` block of ``docs/**/*.md`` carries a directive (see
``tests/docs_support.py``): it is run (alone, or continuing the page's previous run
block, with hidden set-up and checks where a fragment needs them), it is a verbatim
excerpt of an example file the suite runs, it is type-checked against the messages the
page quotes (``tests/test_docs_typing.py``), or it is skipped with a reason. Run blocks
execute from an empty temporary working directory with ``docs/examples`` on
``sys.path``; top-level ``await`` is allowed, and a page's run and continue blocks then
share one event loop. A failure is named ``<page>:<line>``, with the page's own line
numbers in the traceback. YAML, TOML and JSON blocks are parsed, and the commands in
console blocks name existing ``di-backend`` options, ``make`` targets and scripts.

The example backend that ``make run`` starts (``docs/examples``) is also started
in-process and must log its hello line.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import os
import re
import shlex
import signal
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from types import CodeType

import pytest
import yaml
from docs_support import (
    EXAMPLES,
    KINDS,
    REPO,
    DocBlock,
    Snippet,
    all_blocks,
    read_blocks,
    stories,
)

BLOCKS = all_blocks()
STORIES = stories(BLOCKS)
EXCERPTS = [block for block in BLOCKS if block.kind == "excerpt"]
_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


def _compile(page: str, snippet: Snippet | DocBlock) -> CodeType:
    # Pad with blank lines so tracebacks show the page's own line numbers.
    code = "\n" * snippet.line + snippet.code
    compiled: CodeType = compile(code, str(REPO / page), "exec", flags=_FLAGS, dont_inherit=True)
    return compiled


def _interrupt_when_running() -> None:
    """Send this process SIGINT once ``backend.run()`` has installed its handler (30 s at most)."""
    before = signal.getsignal(signal.SIGINT)

    def interrupt() -> None:
        deadline = time.monotonic() + 30
        while signal.getsignal(signal.SIGINT) is before and time.monotonic() < deadline:
            time.sleep(0.01)
        if signal.getsignal(signal.SIGINT) is not before:
            time.sleep(0.5)  # let the start finish: a signal during start cancels it
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()


def _parts(story: list[DocBlock]) -> list[CodeType]:
    parts: list[CodeType] = []
    for block in story:
        parts.extend(_compile(block.page, s) for s in (block.setup, block, block.check) if s)
    return parts


@pytest.mark.parametrize("story", STORIES, ids=[story[0].id for story in STORIES])
def test_doc_example_runs(
    story: list[DocBlock],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A page's run block, with the continue blocks after it, runs without raising."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(EXAMPLES), *sys.path])
    monkeypatch.setenv("LOG_FORMAT", "json")
    captured: list[str] = []

    def doc_stdout() -> str:
        """Everything the story has printed so far (its checks read the log lines)."""
        captured.append(capsys.readouterr().out)
        return "".join(captured)

    namespace: dict[str, object] = {
        "__name__": f"doc_test_{story[0].line}",
        "doc_stdout": doc_stdout,
        "doc_interrupt_when_running": _interrupt_when_running,
    }
    parts = _parts(story)
    if any(part.co_flags & inspect.CO_COROUTINE for part in parts):

        async def run_all() -> None:
            for part in parts:
                result = eval(part, namespace)
                if inspect.isawaitable(result):
                    await result

        asyncio.run(run_all())
    else:
        for part in parts:
            exec(part, namespace)
    capsys.readouterr()


def _statements(source: str) -> list[str]:
    """The top-level statements of ``source``, docstrings (and bare strings) left out."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            kept = [
                stmt
                for stmt in node.body
                if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))
            ]
            node.body = kept or [ast.Pass()]
    return [ast.dump(stmt) for stmt in tree.body]


@pytest.mark.parametrize("block", EXCERPTS, ids=[block.id for block in EXCERPTS])
def test_excerpt_matches_its_file(block: DocBlock) -> None:
    """An excerpt block's statements are, in order, statements of the example file it names.

    Docstrings, comments and formatting aside, every statement of the block is one of
    the file's, in the file's order; the file may have more.
    """
    remaining = iter(_statements((EXAMPLES / block.argument).read_text(encoding="utf-8")))
    missing = [stmt for stmt in _statements(block.code) if stmt not in remaining]
    assert missing == [], f"{block.id} differs from docs/examples/{block.argument}"


def test_every_python_block_has_a_directive() -> None:
    """Each Python block says how it is checked; a skip gives its reason; excerpts name files."""
    problems: list[str] = []
    for block in BLOCKS:
        if block.language != "python":
            continue
        if block.kind not in KINDS:
            problems.append(f"{block.id}: no doc-test directive (kind {block.kind!r})")
        elif block.kind == "skip" and not block.argument:
            problems.append(f"{block.id}: 'skip' without a reason")
        elif block.kind == "excerpt" and not (EXAMPLES / block.argument).is_file():
            problems.append(f"{block.id}: excerpt of a missing file {block.argument!r}")
    assert problems == []


def test_few_blocks_are_skipped() -> None:
    """Skipping is for the rare block nothing can run; at most three pages' worth of them."""
    skipped = [block.id for block in BLOCKS if block.kind == "skip"]
    assert len(skipped) <= 3, skipped


def _yaml(text: str) -> object:
    loaded: object = yaml.safe_load(text)
    return loaded


_PARSERS: dict[str, Callable[[str], object]] = {
    "yaml": _yaml,
    "toml": tomllib.loads,
    "json": json.loads,
}
DATA = [block for block in BLOCKS if block.language in _PARSERS]


@pytest.mark.parametrize("block", DATA, ids=[block.id for block in DATA])
def test_data_block_parses(block: DocBlock) -> None:
    """A YAML, TOML or JSON block is valid in its language."""
    _PARSERS[block.language](block.code)


COMMANDS = [
    (block.id, line.strip().removeprefix("$ ").split("  #")[0].split(" #")[0].strip())
    for block in BLOCKS
    if block.language in ("console", "sh")
    for line in block.code.splitlines()
    if line.strip().startswith(
        (
            "$ di-backend",
            "di-backend",
            "$ make",
            "make ",
            "$ .venv/bin/python bench",
            ".venv/bin/python bench",
        )
    )
]


@pytest.mark.parametrize("command", [c for _, c in COMMANDS], ids=[i for i, _ in COMMANDS])
def test_console_command_exists(command: str) -> None:
    """A documented command names a real di-backend option, make target or bench script."""
    words = shlex.split(command.split("|", maxsplit=1)[0].rstrip("\\"))
    if words[0] == "di-backend":
        from di_backend.cli import _parser

        placeholders = {"FILE": "app-config.yaml", "DIR": ".", "text|mermaid|dot": "text"}
        argv = [placeholders.get(w, w) for w in words[1:] if w not in ("[", "]", "]...")]
        argv = [w.strip("[]").removesuffix("]...") for w in argv]
        _parser().parse_args([w for w in argv if w and w != "..."])
    elif words[0] == "make":
        makefile = (REPO / "Makefile").read_text(encoding="utf-8")
        for target in words[1:]:
            assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), target
    else:
        script = REPO / words[1]
        assert script.is_file(), script
        text = script.read_text(encoding="utf-8")
        for option in (w for w in words[2:] if w.startswith("--")):
            assert f'"{option.split("=")[0]}"' in text, f"{script.name} has no option {option}"


class TestDocBlockReader:
    def test_directives_are_found_in_the_pages(self) -> None:
        """The quick start of the home page and the concept pages carry runnable blocks."""
        pages = {story[0].page for story in STORIES}
        assert {"README.md", "docs/index.md", "docs/concepts/backend.md"} <= pages

    def test_reader_reads_directives_setup_and_checks(self, tmp_path: Path) -> None:
        """Directives attach to the next block, carry set-up code, and a check attaches behind."""
        page = tmp_path / "page.md"
        page.write_text(
            "1. Step\n\n    <!-- doc-test -->\n\n    ```python\n    x = 1\n    ```\n\n"
            "<!-- doc-test: continue\nx += 1\n-->\n\n```python\nassert x == 2\n```\n"
            "<!-- doc-test: check\nassert x == 2\n-->\n\n"
            "```yaml\na: 1\n```\n\nText.\n\n<!-- doc-test: skip needs a network -->\n\n"
            "```python\nprint('no marker')\n```\n",
            encoding="utf-8",
        )
        blocks = read_blocks(page, tmp_path)
        assert [(b.line, b.language, b.kind, b.argument) for b in blocks] == [
            (5, "python", "run", ""),
            (13, "python", "continue", ""),
            (20, "yaml", None, ""),
            (28, "python", "skip", "needs a network"),
        ]
        assert blocks[0].code == "x = 1\n"
        assert blocks[1].setup == Snippet(9, "x += 1\n")
        assert blocks[1].check == Snippet(16, "assert x == 2\n")
        assert blocks[2].after == "Text.\n"
        assert [len(story) for story in stories(blocks)] == [2]


class TestExampleBackend:
    def test_example_backend_logs_hello_with_the_configured_message(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The ``make run`` backend starts in-process and logs its hello and todo lines."""
        from di_backend.cli._start import build_backend

        monkeypatch.chdir(EXAMPLES)
        monkeypatch.setattr(sys, "path", [str(EXAMPLES), *sys.path])
        monkeypatch.setenv("LOG_FORMAT", "json")
        monkeypatch.setenv("APP_CONFIG_backend_listen_port", "0")

        async def run() -> None:
            backend = build_backend(["app-config.yaml"])
            result = await backend.start()
            assert result.outcome == "success"
            await backend.stop()

        asyncio.run(run())
        records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        messages = {(r.get("plugin"), r["message"]) for r in records}
        assert ("example", "Hello from example plugin: configured in app-config.yaml") in messages
        assert ("todo", "Todo actions: github.create-issue, jira.create-ticket") in messages
        assert ("todo", "Would open issue 'Try di_backend' in octo/todo") in messages
