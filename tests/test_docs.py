"""The documentation's examples run.

Every fenced ``python`` block in ``docs/**/*.md`` whose first line is ``# doc-test``
is executed on its own, in a fresh namespace, from an empty temporary working
directory, with ``docs/examples`` on ``sys.path``. Blocks without the marker are
illustrations (fragments, or code that needs a network or runs forever). A block
asserts what it shows; a failing assertion or exception fails the test, named
``<page>:<line>``.

The example backend that ``make run`` starts (``docs/examples``) is also started
in-process and must log its hello line.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
EXAMPLES = DOCS / "examples"
MARKER = "# doc-test"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*)$")


@dataclass(frozen=True)
class DocBlock:
    """A fenced code block of a documentation page.

    Attributes:
        page: the page, relative to ``docs/``.
        line: the 1-based line of the opening fence.
        language: the first word of the fence's info string.
        code: the block's text, dedented to the fence.
    """

    page: str
    line: int
    language: str
    code: str

    @property
    def runnable(self) -> bool:
        """Whether the block is Python marked with the doc-test marker."""
        first = self.code.lstrip("\n").split("\n", 1)[0].strip()
        return self.language == "python" and first == MARKER


def read_blocks(path: Path, root: Path = DOCS) -> list[DocBlock]:
    """Return the fenced code blocks of one Markdown page, dedented to their fence."""
    blocks: list[DocBlock] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        indent, fence = match["indent"], match["fence"]
        language = match["info"].split()[0].strip("{}.") if match["info"] else ""
        start = index + 1  # the fence's 1-based line number
        index = start
        closing = re.compile(rf"^{re.escape(indent)}{re.escape(fence)}[ \t]*$")
        body: list[str] = []
        while index < len(lines) and not closing.match(lines[index]):
            body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else "")
            index += 1
        page = path.relative_to(root).as_posix()
        blocks.append(DocBlock(page, start, language, "\n".join(body) + "\n"))
        index += 1
    return blocks


def _runnable_blocks() -> list[DocBlock]:
    pages = sorted(p for p in DOCS.rglob("*.md") if EXAMPLES not in p.parents)
    return [block for page in pages for block in read_blocks(page) if block.runnable]


RUNNABLE = _runnable_blocks()


@pytest.mark.parametrize("block", RUNNABLE, ids=[f"{b.page}:{b.line}" for b in RUNNABLE])
def test_doc_example_runs(
    block: DocBlock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A documentation block marked ``# doc-test`` runs without raising."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(EXAMPLES), *sys.path])
    monkeypatch.setenv("LOG_FORMAT", "json")
    namespace: dict[str, object] = {"__name__": f"doc_test_{block.line}"}
    # Pad with blank lines so tracebacks show the page's own line numbers.
    code = "\n" * block.line + block.code
    exec(compile(code, str(DOCS / block.page), "exec"), namespace)
    capsys.readouterr()


class TestDocBlockReader:
    def test_marked_blocks_are_found_in_the_pages(self) -> None:
        """The quick start of the home page and the concept pages carry runnable blocks."""
        pages = {block.page for block in RUNNABLE}
        assert {"index.md", "concepts/backend.md", "concepts/services.md"} <= pages

    def test_reader_dedents_indented_fences_and_keeps_languages(self, tmp_path: Path) -> None:
        """Blocks inside list items are dedented; only Python blocks with the marker run."""
        page = tmp_path / "page.md"
        page.write_text(
            "1. Step\n\n    ```python\n    # doc-test\n    x = 1\n    ```\n\n"
            "```yaml\n# doc-test\na: 1\n```\n\n```python\nprint('no marker')\n```\n",
            encoding="utf-8",
        )
        blocks = read_blocks(page, tmp_path)
        assert [(b.line, b.language, b.runnable) for b in blocks] == [
            (3, "python", True),
            (8, "yaml", False),
            (13, "python", False),
        ]
        assert blocks[0].code == "# doc-test\nx = 1\n"


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
