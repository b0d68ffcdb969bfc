"""The default ``core.cache`` factory."""

from __future__ import annotations

from di_backend._core_services import core_services
from di_backend._managed import managed_service_factory
from di_backend.cache._manager import CacheManager

__all__ = ["cache_factory"]

cache_factory = managed_service_factory(core_services.cache, CacheManager, service="cache")
"""Each plugin's private cache on ``backend.cache.store`` (``memory`` by default)."""
