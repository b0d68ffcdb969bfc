"""The lifecycle service interfaces and the controller protocol the initializer drives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeAlias, runtime_checkable

__all__ = [
    "LifecycleHook",
    "LifecycleService",
    "PluginLifecycleController",
    "RootLifecycleController",
    "RootLifecycleService",
]

LifecycleHook: TypeAlias = Callable[[], Awaitable[None] | None]
"""A hook takes no arguments; it may be a plain or an ``async`` function."""


@runtime_checkable
class LifecycleService(Protocol):
    """Startup and shutdown hooks of one plugin (``core_services.lifecycle``)."""

    def add_startup_hook(self, hook: LifecycleHook) -> None:
        """Run ``hook`` once this plugin (and its modules) finished initialising."""
        ...

    def add_shutdown_hook(self, hook: LifecycleHook) -> None:
        """Run ``hook`` when the backend stops."""
        ...


@runtime_checkable
class RootLifecycleService(LifecycleService, Protocol):
    """Backend-wide hooks (``core_services.root_lifecycle``)."""

    def add_before_shutdown_hook(self, hook: LifecycleHook) -> None:
        """Run ``hook`` when stopping begins, before any plugin shuts down."""
        ...


@runtime_checkable
class PluginLifecycleController(Protocol):
    """What the initializer calls on a plugin lifecycle implementation."""

    async def startup(self) -> None:
        """Run the startup hooks."""
        ...

    async def shutdown(self) -> None:
        """Run the shutdown hooks."""
        ...


@runtime_checkable
class RootLifecycleController(PluginLifecycleController, Protocol):
    """What the initializer calls on a root lifecycle implementation."""

    async def before_shutdown(self) -> None:
        """Run the before-shutdown hooks."""
        ...
