"""Plugin and instance metadata interfaces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "InstalledModule",
    "InstalledPlugin",
    "PluginMetadataService",
    "RootInstanceMetadataService",
]


@runtime_checkable
class PluginMetadataService(Protocol):
    """Facts about the plugin a service was created for (``core_services.plugin_metadata``)."""

    def get_id(self) -> str:
        """Return the plugin id."""
        ...


@dataclass(frozen=True, slots=True)
class InstalledModule:
    """A module installed in this backend.

    Attributes:
        module_id: the module id.
    """

    module_id: str


@dataclass(frozen=True, slots=True)
class InstalledPlugin:
    """A plugin installed in this backend, with its modules.

    Attributes:
        plugin_id: the plugin id.
        modules: the plugin's installed modules.
    """

    plugin_id: str
    modules: tuple[InstalledModule, ...]


@runtime_checkable
class RootInstanceMetadataService(Protocol):
    """What this backend instance runs (``core_services.root_instance_metadata``)."""

    async def get_installed_plugins(self) -> Sequence[InstalledPlugin]:
        """Return the installed plugins and their modules (orphan modules excluded)."""
        ...
