"""The per-plugin ``core.pluginMetadata`` object the container provides."""

from __future__ import annotations

from typing import TYPE_CHECKING

from di_backend._refs import AnyServiceRef

if TYPE_CHECKING:
    from di_backend._container import ServiceContainer

__all__ = ["PluginMetadata"]


class PluginMetadata:
    """What a plugin's ``core.pluginMetadata`` service is: its id, and its container.

    It also carries ``_resolve_service``, the backend's way to get this plugin's
    instance of any ref at request time (``di_backend.fastapi.service``); it is
    private to the package.
    """

    __slots__ = ("_container", "_plugin_id")

    def __init__(self, plugin_id: str, container: ServiceContainer) -> None:
        """Hold the plugin id and the container that resolves the plugin's services."""
        self._plugin_id = plugin_id
        self._container = container

    def get_id(self) -> str:
        """Return the plugin id."""
        return self._plugin_id

    async def _resolve_service(self, ref: AnyServiceRef) -> object:
        return await self._container.get(ref, self._plugin_id)

    def __repr__(self) -> str:
        return f"PluginMetadata({self._plugin_id!r})"
