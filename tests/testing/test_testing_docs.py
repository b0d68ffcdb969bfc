"""Tests that keep ``docs/testing.md`` and its runnable examples honest."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "testing.md"
EXAMPLES = sorted((ROOT / "docs" / "examples" / "testing").glob("test_*.py"))


def test_there_are_four_examples() -> None:
    """The page's four examples (HTTP, module, plugin, service factory) exist as files."""
    assert [path.name for path in EXAMPLES] == [
        "test_http_example.py",
        "test_module_example.py",
        "test_plugin_example.py",
        "test_service_factory_example.py",
    ]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_page_shows_each_example_verbatim(example: Path) -> None:
    """Each example file appears unchanged in a python block of ``docs/testing.md``."""
    assert f"```python\n{example.read_text()}```" in DOC.read_text()


def test_examples_pass(pytester: pytest.Pytester) -> None:
    """The examples run green with the project's pytest configuration and plugins.

    In a subprocess: an in-process run restores ``sys.modules`` afterwards, which drops
    the httpcore modules the examples first imported, and a later import of them makes
    exception classes that httpx no longer maps (``httpcore.ConnectError`` escaping).
    """
    result = pytester.runpytest_subprocess(
        *map(str, EXAMPLES), "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml")
    )
    result.assert_outcomes(passed=13)


def test_page_documents_the_http_testing_section() -> None:
    """The page has the "Testing HTTP routes" section and names the server's error message."""
    text = DOC.read_text()
    assert "## Testing HTTP routes" in text
    assert "TestBackend server is not available" in text


def test_page_documents_both_fixtures() -> None:
    """The page documents both fixtures of the pytest plugin."""
    text = DOC.read_text()
    assert "**`test_backend`**" in text
    assert "**`sync_test_backend`**" in text
