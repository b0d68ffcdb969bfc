"""The ``di-backend`` command: ``start`` a backend from configuration, or print its ``graph``.

``di-backend start [--config FILE]...`` runs ``create_backend()`` with the features
listed in ``backend.features`` and the entry points selected by
``backend.packages`` until SIGINT or SIGTERM. ``di-backend graph`` prints the same
wiring without starting anything. See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from di_backend.cli._graph_render import FORMATS, GraphFormat

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="di-backend",
        description="Run a di_backend backend from app-config.yaml, or print its wiring.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="FILE",
        help=(
            "a config file; repeat for more, later files win "
            "(default: app-config.yaml and app-config.local.yaml)"
        ),
    )
    common.add_argument(
        "--app-dir",
        default=".",
        metavar="DIR",
        help="put DIR first on sys.path so features import from it (default: .)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "start",
        parents=[common],
        help="start the backend; SIGINT or SIGTERM stops it",
        description="Start the features in backend.features and backend.packages.",
    )
    graph = commands.add_parser(
        "graph",
        parents=[common],
        help="print the wiring without starting anything",
        description="Print plugins, modules, their dependencies and initialisation order.",
    )
    graph.add_argument("--format", choices=FORMATS, default="text", help="output format")
    graph.add_argument(
        "--services",
        action="store_true",
        help="also list every service the inits need and the services each one needs (text)",
    )
    return parser


def _use_app_dir(app_dir: str) -> None:
    path = os.path.abspath(app_dir)
    if path not in sys.path:
        sys.path.insert(0, path)


def _start(config: Sequence[str]) -> int:
    from di_backend.cli._start import build_backend, serve
    from di_backend.defaults import root_config_factory

    factory = root_config_factory(paths=config)
    return asyncio.run(serve(build_backend(config_factory=factory), config_factory=factory))


def _graph(config: Sequence[str], format: GraphFormat, *, services: bool = False) -> int:
    from di_backend._create_backend import default_service_factories
    from di_backend.cli._graph_model import build_wiring
    from di_backend.cli._graph_render import render
    from di_backend.cli._start import describe_startup_failure
    from di_backend.config import load_config
    from di_backend.defaults._factories import config_secrets
    from di_backend.defaults._logging import redact_secrets

    secrets: frozenset[str] = frozenset()
    try:
        loaded = load_config(config)
        secrets = config_secrets(loaded)
        graph = asyncio.run(
            build_wiring(
                loaded, defaults=default_service_factories(), config_sources=loaded.reader.sources
            )
        )
    except Exception as error:
        failure = describe_startup_failure(error, "Reading the wiring")
        print(redact_secrets(failure, secrets), file=sys.stderr)
        return 1
    print(redact_secrets(render(graph, format, services=services), secrets))
    problems = graph.problems
    if problems:
        print(f"{len(problems)} wiring problem(s); see the end of the output", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``di-backend`` command.

    Args:
        argv: the arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code: ``0`` on success (also after SIGINT or SIGTERM), ``1`` when
        the backend failed to start or the wiring has problems, ``2`` for usage errors.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    command: str | None = args.command
    if command is None:
        parser.print_help(sys.stderr)
        return 2
    _use_app_dir(args.app_dir)
    config: list[str] = args.config
    if command == "start":
        return _start(config)
    format: GraphFormat = args.format
    return _graph(config, format, services=bool(args.services))
