"""In-memory fakes of the lifecycle and instance-metadata services."""

from __future__ import annotations

from collections.abc import Iterable

from di_backend.defaults._lifecycle import DefaultLifecycle, DefaultRootLifecycle
from di_backend.services import InstalledPlugin, LoggerService
from di_backend.testing._mock_logger import MockLogger

__all__ = ["MockLifecycle", "MockRootInstanceMetadata", "MockRootLifecycle"]


class MockRootLifecycle(DefaultRootLifecycle):
    """The default root lifecycle with a :class:`MockLogger` unless given a logger.

    A test backend runs its hooks (startup after every plugin, before-shutdown
    and shutdown at stop); on its own, call ``await startup()``,
    ``await before_shutdown()`` and ``await shutdown()``. Hook failures are
    logged to :attr:`logger` as ``Startup hook failed, <Name>: <message>``.

    Args:
        logger: where hook failures go; a new :class:`MockLogger` if omitted.
    """

    __slots__ = ()

    def __init__(self, logger: LoggerService | None = None) -> None:
        super().__init__(MockLogger() if logger is None else logger)


class MockLifecycle(DefaultLifecycle):
    """The default plugin lifecycle with a :class:`MockLogger` unless given a logger.

    A test backend runs its startup hooks once the plugin started and its
    shutdown hooks at stop; on its own, call ``await startup()`` and
    ``await shutdown()``.

    Args:
        logger: where hook failures go; a new :class:`MockLogger` if omitted.
    """

    __slots__ = ()

    def __init__(self, logger: LoggerService | None = None) -> None:
        super().__init__(MockLogger() if logger is None else logger)


class MockRootInstanceMetadata:
    """A ``RootInstanceMetadataService`` that reports the plugins it was given.

    Args:
        plugins: what :meth:`get_installed_plugins` returns (default: none).
    """

    __slots__ = ("_plugins",)

    def __init__(self, plugins: Iterable[InstalledPlugin] = ()) -> None:
        self._plugins = tuple(plugins)

    def __repr__(self) -> str:
        return f"MockRootInstanceMetadata({self._plugins!r})"

    async def get_installed_plugins(self) -> tuple[InstalledPlugin, ...]:
        """Return the plugins given at construction."""
        return self._plugins
