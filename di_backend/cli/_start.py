"""``di-backend start``: run a backend built from configuration until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from typing import TextIO, cast

from di_backend._backend import Backend
from di_backend._core_services import core_services
from di_backend._create_backend import create_backend
from di_backend._feature_loaders import config_feature_loader, discovery_feature_loader
from di_backend._refs import AnyServiceRef
from di_backend._results import BackendStartupResult
from di_backend.config import DEFAULT_CONFIG_FILES, ObservableConfig
from di_backend.defaults import RootConfigFactory, root_config_factory
from di_backend.defaults._factories import config_secrets
from di_backend.defaults._logging import redact_secrets
from di_backend.errors import BackendStartupError, DiBackendError, describe_error
from di_backend.services import ConfigService, LoggerService

__all__ = ["build_backend", "describe_startup_failure", "serve", "startup_summary"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def build_backend(
    config_paths: Sequence[str] = (), *, config_factory: RootConfigFactory | None = None
) -> Backend:
    """Create the backend that ``di-backend start`` runs.

    ``create_backend()`` with the given config files, plus the features listed in
    ``backend.features`` and the entry points selected by ``backend.packages``.

    Args:
        config_paths: the ``--config`` files; empty reads ``app-config.yaml`` and
            ``app-config.local.yaml`` from the working directory.
        config_factory: the ``root_config`` factory to use instead of one for
            ``config_paths`` (its ``loaded`` config gives :func:`serve` the secrets).
    """
    backend = create_backend()
    backend.add(config_factory or root_config_factory(paths=config_paths))
    backend.add(config_feature_loader)
    backend.add(discovery_feature_loader)
    return backend


def _peek(backend: Backend, ref: AnyServiceRef) -> object | None:
    # The backend has no public accessor for its root services yet.
    return backend._initializer.registry.container.peek(ref, None)


def _root_logger(backend: Backend) -> LoggerService | None:
    logger = _peek(backend, core_services.root_logger)
    return logger if isinstance(logger, LoggerService) else None


def _redacted(text: str, config: object | None) -> str:
    """``text`` with the configuration's secrets replaced by ``***``, as log lines have them."""
    if config is None:  # the configuration never loaded: it holds no secrets yet
        return text
    return redact_secrets(text, config_secrets(cast("ConfigService", config)))


def startup_summary(
    result: BackendStartupResult, seconds: float, config_sources: Sequence[str] = ()
) -> tuple[str, dict[str, object]]:
    """Return the startup log line and its fields.

    Args:
        result: what ``Backend.start`` returned.
        seconds: how long the start took.
        config_sources: the files the configuration was read from.

    Returns:
        ``Backend started in 0.12s: 2 plugins, 3 modules`` and the fields
        ``plugins``, ``modules``, ``allowed_failures`` (when any) and ``config``.
    """
    plugins = sorted(p.plugin_id for p in result.plugins if p.failure is None)
    modules = sorted(
        f"{p.plugin_id}.{m.module_id}"
        for p in result.plugins
        for m in p.modules
        if m.failure is None
    )
    allowed = sorted(
        [f"plugin '{p.plugin_id}'" for p in result.plugins if p.failure is not None]
        + [
            f"module '{m.module_id}' for plugin '{p.plugin_id}'"
            for p in result.plugins
            for m in p.modules
            if m.failure is not None
        ]
    )
    fields: dict[str, object] = {"plugins": plugins, "modules": modules}
    if allowed:
        fields["allowed_failures"] = allowed
    fields["config"] = list(config_sources)
    plural = {True: "s", False: ""}
    message = (
        f"Backend started in {seconds:.2f}s: {len(plugins)} plugin{plural[len(plugins) != 1]}, "
        f"{len(modules)} module{plural[len(modules) != 1]}"
    )
    if allowed:
        message += f" ({len(allowed)} allowed failure{plural[len(allowed) != 1]})"
    return message, fields


def describe_startup_failure(error: BaseException, what: str = "Backend startup") -> str:
    """Render a failed start for the terminal: the message, no traceback.

    ``BackendStartupError`` keeps its own message. Other errors become
    ``<what> failed; caused by <Class>: <message>``; for errors that di_backend
    did not raise on purpose the place they were raised is added.

    Args:
        error: what ``start`` (or reading the wiring) raised.
        what: the step that failed, for the message.
    """
    if isinstance(error, BackendStartupError):
        return str(error)
    text = f"{what} failed; caused by {describe_error(error)}"
    if not isinstance(error, DiBackendError):
        frames = traceback.extract_tb(error.__traceback__)
        if frames:
            last = frames[-1]
            text += f" (raised at {last.filename}:{last.lineno} in {last.name})"
    return text


async def serve(
    backend: Backend,
    *,
    stderr: TextIO | None = None,
    config_factory: RootConfigFactory | None = None,
) -> int:
    """Start ``backend``, log a summary, wait for SIGINT or SIGTERM, stop it.

    A signal during startup cancels the start and stops what had started. A
    second signal, while the backend stops, ends the process at once with exit
    code ``128 + signal number`` (130 for SIGINT, 143 for SIGTERM).

    Args:
        backend: the backend to run.
        stderr: where a startup failure is written (default ``sys.stderr``), with
            the configuration's secrets replaced by ``***``.
        config_factory: the backend's ``root_config`` factory, whose loaded
            configuration names the secrets when a failed start has discarded it.

    Returns:
        ``0`` after a clean stop, ``1`` when startup failed.
    """
    loop = asyncio.get_running_loop()
    received: list[str] = []
    stopping = asyncio.Event()

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        if len(received) > 1:  # a second signal: the user wants out now
            print(
                f"Received {sig.name} while stopping after {received[0]}; exiting now "
                f"without waiting for the stop to finish (exit code {128 + sig.value})",
                file=stderr or sys.stderr,
                flush=True,
            )
            sys.stdout.flush()
            os._exit(128 + sig.value)
        stopping.set()

    for sig in _SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        return await _serve(backend, stopping, received, stderr or sys.stderr, config_factory)
    finally:
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)


async def _serve(
    backend: Backend,
    stopping: asyncio.Event,
    received: list[str],
    stderr: TextIO,
    config_factory: RootConfigFactory | None,
) -> int:
    began = time.monotonic()
    start = asyncio.ensure_future(backend.start())
    signalled = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({start, signalled}, return_when=asyncio.FIRST_COMPLETED)
        if not start.done():
            logger = _root_logger(backend)
            start.cancel()
            with contextlib.suppress(BaseException):
                await start
            await backend.stop()
            _log(logger, f"Startup interrupted by {received[0]}; the backend was stopped")
            return 0
        try:
            result = start.result()
        except Exception as error:
            config = _peek(backend, core_services.root_config)
            if config is None and config_factory is not None:
                config = config_factory.loaded
            await backend.stop()
            print(_redacted(describe_startup_failure(error), config), file=stderr, flush=True)
            return 1
        logger = _root_logger(backend)
        config = _peek(backend, core_services.root_config)
        sources = config.reader.sources if isinstance(config, ObservableConfig) else ()
        message, fields = startup_summary(result, time.monotonic() - began, sources)
        _log(logger, message, fields)
        if not result.plugins:
            _warn(logger, empty_backend_warning(sources))
        await signalled
        _log(logger, f"Received {received[0]}, stopping the backend")
        await backend.stop()
        _log(logger, "Backend stopped")
        return 0
    finally:
        signalled.cancel()


def empty_backend_warning(sources: Sequence[str], cwd: str | None = None) -> str:
    """The warning for a backend that started with no plugin: where configuration came from.

    Args:
        sources: the configuration sources that were read.
        cwd: the working directory the default files were looked for in.
    """
    files = [source for source in sources if source.endswith((".yaml", ".yml"))]
    if files:
        where = "configuration was read from " + ", ".join(files)
    else:
        looked = ", ".join(DEFAULT_CONFIG_FILES)
        where = f"no configuration file was found (looked for {looked} in {cwd or os.getcwd()})"
    return (
        f"Started an empty backend: no plugin or module is installed; {where}. List features "
        "under backend.features (import strings such as 'todo_backend'), or pass "
        "--config <file>"
    )


def _warn(logger: LoggerService | None, message: str) -> None:
    if logger is not None:
        logger.warn(message)
    else:
        print(message, flush=True)


def _log(
    logger: LoggerService | None, message: str, fields: dict[str, object] | None = None
) -> None:
    if logger is not None:
        logger.info(message, fields)
    else:
        print(message, flush=True)
