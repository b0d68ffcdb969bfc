"""Fixtures shared by the core behaviour tests.

``make_backend`` builds a specialized backend whose root logger records
``(level, message)`` pairs into the ``logs`` fixture instead of printing, and
whose root config is the given data; every backend it made is stopped after
the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence

import pytest

from di_backend import (
    Backend,
    BackendFeature,
    ServiceFactory,
    core_services,
    create_service_factory,
    create_specialized_backend,
)
from di_backend.config import ConfigReader
from di_backend.services import JsonValue, LogMeta, RootConfigService, RootLoggerService


class RecordingLogger:
    """A logger that appends ``(level, message)`` to a shared list."""

    def __init__(self, records: list[tuple[str, str]], fields: Mapping[str, object]) -> None:
        self.records = records
        self.fields = dict(fields)

    def error(self, message: str, meta: LogMeta = None) -> None:
        """Record an error line."""
        self.records.append(("error", message))

    def warn(self, message: str, meta: LogMeta = None) -> None:
        """Record a warning line."""
        self.records.append(("warn", message))

    def info(self, message: str, meta: LogMeta = None) -> None:
        """Record an info line."""
        self.records.append(("info", message))

    def debug(self, message: str, meta: LogMeta = None) -> None:
        """Record a debug line."""
        self.records.append(("debug", message))

    def child(self, **fields: object) -> RecordingLogger:
        """Return a logger writing to the same list."""
        return RecordingLogger(self.records, {**self.fields, **fields})


@pytest.fixture
def logs() -> list[tuple[str, str]]:
    """The ``(level, message)`` lines logged by backends made with ``make_backend``."""
    return []


@pytest.fixture
async def make_backend(logs: list[tuple[str, str]]) -> AsyncIterator[Callable[..., Backend]]:
    """Return ``make(*features, config=None, defaults=()) -> Backend``; stop them all after.

    ``defaults`` are extra default service factories; one for the root logger or
    root config replaces the recording logger or the config built from ``config``.
    """
    backends: list[Backend] = []

    def make(
        *features: BackendFeature | str,
        config: Mapping[str, JsonValue] | None = None,
        defaults: Sequence[ServiceFactory[object]] = (),
    ) -> Backend:
        data = dict(config or {})

        def root_logger() -> RootLoggerService:
            return RecordingLogger(logs, {})

        def root_config() -> RootConfigService:
            return ConfigReader(data)

        given = {factory.service.id for factory in defaults}
        core: list[ServiceFactory[object]] = [
            create_service_factory(core_services.root_logger, root_logger),
            create_service_factory(core_services.root_config, root_config),
        ]
        backend = create_specialized_backend(
            default_service_factories=[
                *(f for f in core if f.service.id not in given),
                *defaults,
            ]
        )
        for feature in features:
            backend.add(feature)
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        await backend.stop()
