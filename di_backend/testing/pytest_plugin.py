"""The di_backend pytest plugin: test-backend fixtures and clean-up at session end.

Loaded automatically through the ``pytest11`` entry point ``di_backend``
(disable with ``-p no:di_backend``).

Fixtures:

* ``test_backend``: an :class:`~di_backend.testing.AsyncTestBackends`; in an
  async test, ``backend = await test_backend(features=[...])``. Every backend
  it started is stopped at teardown, in the event loop that ran the test,
  also when the test failed. Works for tests run by pytest-asyncio (any mode,
  any loop scope) and by anyio's plugin (``@pytest.mark.anyio``), also when
  both plugins are active.
* ``test_databases``: a :class:`~di_backend.testing.TestDatabases`; every
  database it made is dropped at teardown. PostgreSQL tests skip without a
  server, and fail instead when ``CI`` is set.
* ``test_caches``: a :class:`~di_backend.testing.TestCaches` (a Redis namespace per test).
* ``sync_test_backend``: a :class:`~di_backend.testing.SyncTestBackends` for
  plain tests; ``backend = sync_test_backend(features=[...])`` runs the
  backend on a background event loop and stops it at teardown.

At the end of the session, test backends that were started (for instance
with ``start_test_backend``) and never stopped are stopped.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import ExitStack

import pytest

from di_backend.errors import describe_error
from di_backend.testing import _live
from di_backend.testing._starters import AsyncTestBackends, SyncTestBackends
from di_backend.testing._test_databases import TestCaches, TestDatabases

__all__ = [
    "pytest_sessionfinish",
    "pytest_sessionstart",
    "sync_test_backend",
    "test_backend",
    "test_caches",
    "test_databases",
]

StopAll = Callable[[], Coroutine[object, object, None]]
Runner = Callable[[StopAll], None]

_SESSION_MARK = pytest.StashKey[int]()


def _pytest_asyncio_runner(request: pytest.FixtureRequest) -> Runner | None:
    """Run in the ``asyncio.Runner`` that runs this test, if pytest-asyncio runs it.

    pytest-asyncio sets up the test's runner fixture after every other fixture,
    so it would close the loop before this fixture's teardown; requesting it
    here sets it up first and closes it last. In auto mode pytest-asyncio also
    runs tests marked ``anyio``, so this is checked first.
    """
    marker = request.node.get_closest_marker("asyncio")
    if marker is None:
        return None
    scope = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")
    try:
        if scope is None:
            scope = request.config.getini("asyncio_default_test_loop_scope") or "function"
        runner = request.getfixturevalue(f"_{scope}_scoped_runner")
    except (ValueError, pytest.FixtureLookupError):  # not pytest-asyncio's layout
        return None
    if not isinstance(runner, asyncio.Runner):
        return None
    return lambda stop_all: runner.run(stop_all())


def _anyio_runner(request: pytest.FixtureRequest, stack: ExitStack) -> Runner | None:
    """Run in anyio's test runner if anyio runs this test; hold it open until then."""
    if "anyio_backend" not in request.fixturenames:
        return None
    from anyio.pytest_plugin import extract_backend_and_options, get_runner

    backend, options = extract_backend_and_options(request.getfixturevalue("anyio_backend"))
    runner = stack.enter_context(get_runner(backend, options))
    return lambda stop_all: runner.run_fixture(stop_all, {})


@pytest.fixture
def test_backend(request: pytest.FixtureRequest) -> Iterator[AsyncTestBackends]:
    """Start test backends in an async test; all are stopped at teardown, in the test's loop.

    Example::

        async def test_todo(test_backend: AsyncTestBackends) -> None:
            backend = await test_backend(features=[todo_plugin])
    """
    starter = AsyncTestBackends()
    with ExitStack() as stack:
        run = _pytest_asyncio_runner(request) or _anyio_runner(request, stack)
        try:
            yield starter
        finally:
            if starter.backends:
                if run is None:  # an unknown runner: use the loop the backends started in
                    starter.stop_all_blocking()
                else:
                    run(starter.stop_all)


@pytest.fixture
def sync_test_backend() -> Iterator[SyncTestBackends]:
    """Start test backends in a plain test, on a background event loop; stopped at teardown.

    Example::

        def test_todo(sync_test_backend: SyncTestBackends) -> None:
            backend = sync_test_backend(features=[todo_plugin])
    """
    with SyncTestBackends() as starter:
        yield starter


def pytest_sessionstart(session: pytest.Session) -> None:
    """Remember where this session's test backends begin (sessions may nest, as in pytester)."""
    session.stash[_SESSION_MARK] = _live.mark()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the test backends this session started and never stopped."""
    errors = _live.stop_leftovers(session.stash.get(_SESSION_MARK, 0))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for error in errors:
        line = f"di_backend: failed to stop a test backend after the tests, {describe_error(error)}"
        if reporter is not None:
            reporter.write_line(line, red=True)
        else:
            print(line, file=sys.stderr)


@pytest.fixture
def test_databases() -> Iterator[TestDatabases]:
    """Fresh PostgreSQL and SQLite databases for a test, dropped at teardown."""
    databases = TestDatabases()
    try:
        yield databases
    finally:
        databases.drop_all()


@pytest.fixture
def test_caches() -> TestCaches:
    """Cache configs for a test: memory, and Redis under a namespace of its own."""
    return TestCaches()
