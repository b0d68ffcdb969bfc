"""``create_backend``: a backend with every default core service factory."""

from __future__ import annotations

from di_backend._backend import Backend, create_specialized_backend
from di_backend._factories import ServiceFactory

__all__ = ["create_backend", "default_service_factories"]


def default_service_factories() -> list[ServiceFactory[object]]:
    """Return the default factories that :func:`create_backend` installs.

    ``root_config`` (``app-config.yaml`` files), ``root_logger``, ``logger``,
    ``root_lifecycle``, ``lifecycle`` and the HTTP services (``root_http_router``,
    ``root_health``, ``http_router`` — created for every plugin — ``discovery``,
    ``auth`` and ``http_auth``). ``core.pluginMetadata`` and
    ``core.rootInstanceMetadata`` are provided by the backend itself.
    """
    # Imported here so that `import di_backend` stays free of YAML and logging set-up.
    from di_backend.defaults import (
        lifecycle_factory,
        logger_factory,
        root_config_factory,
        root_lifecycle_factory,
        root_logger_factory,
    )
    from di_backend.http import http_service_factories

    return [
        root_config_factory,
        root_logger_factory,
        logger_factory,
        root_lifecycle_factory,
        lifecycle_factory,
        *http_service_factories,
    ]


def create_backend() -> Backend:
    """Create a backend with every default core service factory.

    It is ``create_specialized_backend(default_service_factories=default_service_factories())``.
    Configuration comes from ``app-config.yaml`` and ``app-config.local.yaml`` in the
    working directory; add ``root_config_factory(paths=[...])`` to read other files.

    Example:
        >>> from di_backend import create_backend
        >>> backend = create_backend()
        >>> backend.add("todo_backend")  # doctest: +SKIP
    """
    return create_specialized_backend(default_service_factories=default_service_factories())
