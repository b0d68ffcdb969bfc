"""Reading the code blocks of ``README.md`` and ``docs/**/*.md``, and how each is checked.

A fenced block is preceded (blank lines aside) by an HTML comment, invisible on the
rendered page, that says what the suite does with it:

``<!-- doc-test -->``
    run the block on its own, in a fresh namespace;
``<!-- doc-test: continue -->``
    run it in the namespace the page's previous run block left;
``<!-- doc-test: excerpt <path> -->``
    the block is a verbatim excerpt of ``<path>`` (relative to ``docs/examples``), a file
    the suite runs elsewhere;
``<!-- doc-test: typecheck -->``
    run mypy --strict and pyright on the block and compare with the messages the page
    quotes after it (``docs/typing.md``);
``<!-- doc-test: skip <reason> -->``
    never run; the reason is required.

A run or continue directive may carry code on its following lines, run before the block
(the set-up a fragment needs), and a ``<!-- doc-test: check`` comment right after the
block carries code run after it (what the fragment is expected to have done).
Hidden code may call ``doc_stdout()``, which returns what the story printed so far, and
``doc_interrupt_when_running()``, which sends SIGINT once ``backend.run()`` waits for it.
YAML, TOML and JSON blocks need no directive: they are parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
EXAMPLES = DOCS / "examples"
KINDS = ("run", "continue", "excerpt", "typecheck", "skip")
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*)$")
_DIRECTIVE = re.compile(r"^<!-- doc-test(?::[ \t]*(?P<kind>[a-z]+)(?P<arg>[^\n]*?))?[ \t]*(-->)?$")


@dataclass(frozen=True)
class Snippet:
    """Code hidden in a directive comment; ``line`` is the comment's own (1-based) line."""

    line: int
    code: str


@dataclass(frozen=True)
class DocBlock:
    """A fenced code block of a documentation page and how the suite checks it.

    Attributes:
        page: the page, relative to the repository (``docs/index.md``, ``README.md``).
        line: the 1-based line of the opening fence.
        language: the first word of the fence's info string.
        code: the block's text, dedented to the fence.
        kind: the directive's kind (``run``, ``continue``, ...), or ``None`` without one.
        argument: the directive's argument (an excerpt's path, a skip's reason).
        setup: code of the directive comment, run before the block.
        check: code of a check comment after the block, run after it.
        after: the page's text after the block, up to the next block (its messages).
    """

    page: str
    line: int
    language: str
    code: str
    kind: str | None = None
    argument: str = ""
    setup: Snippet | None = None
    check: Snippet | None = None
    after: str = field(default="", repr=False)

    @property
    def id(self) -> str:
        """``<page>:<line>``, the block's name in test ids and messages."""
        return f"{self.page}:{self.line}"


def _comment(lines: list[str], start: int, indent: str) -> tuple[int, list[str]]:
    """Return the index after the HTML comment opening at ``start`` and its inner lines."""
    body: list[str] = []
    index = start
    if lines[start].rstrip().endswith("-->"):
        return start + 1, body
    index += 1
    while index < len(lines) and lines[index].strip() != "-->":
        body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else "")
        index += 1
    return index + 1, body


def read_blocks(path: Path, root: Path = REPO) -> list[DocBlock]:
    """Return the fenced code blocks of one Markdown page, with their directives."""
    lines = path.read_text(encoding="utf-8").splitlines()
    page = path.relative_to(root).as_posix()
    blocks: list[DocBlock] = []
    pending: tuple[str, str, Snippet | None] | None = None
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        directive = _DIRECTIVE.match(stripped)
        if directive is not None:
            indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
            end, hidden = _comment(lines, index, indent)
            kind = directive["kind"] or "run"
            snippet = Snippet(index + 1, "\n".join(hidden) + "\n") if hidden else None
            if kind == "check" and blocks:
                blocks[-1] = replace(blocks[-1], check=snippet)
            else:
                pending = (kind, (directive["arg"] or "").strip(), snippet)
            index = end
            continue
        match = _FENCE.match(lines[index])
        if match is None:
            if stripped:
                if blocks:
                    blocks[-1] = replace(blocks[-1], after=f"{blocks[-1].after}{stripped}\n")
                pending = None
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
        kind, argument, setup = pending if pending is not None else (None, "", None)
        code = "\n".join(body) + "\n"
        blocks.append(DocBlock(page, start, language, code, kind, argument, setup))
        pending = None
        index += 1
    return blocks


def all_blocks() -> list[DocBlock]:
    """Every block of the README and of every documentation page (example files aside)."""
    pages = [
        REPO / "README.md",
        *sorted(p for p in DOCS.rglob("*.md") if EXAMPLES not in p.parents),
    ]
    return [block for page in pages for block in read_blocks(page)]


def stories(blocks: list[DocBlock]) -> list[list[DocBlock]]:
    """Group run blocks with the continue blocks that follow them on the same page."""
    groups: list[list[DocBlock]] = []
    for block in blocks:
        if block.kind == "run":
            groups.append([block])
        elif block.kind == "continue":
            if not groups or groups[-1][0].page != block.page:
                raise ValueError(f"{block.id}: 'continue' with no run block before it on the page")
            groups[-1].append(block)
    return groups
