"""di_backend: Backstage's backend system for Python.

Service refs and extension points are typed keys; plugins and modules declare
their dependencies with ``inject(ref)``; a backend starts modules before their
plugin and plugins side by side. See ``docs/`` for the concepts.
"""

from di_backend._backend import Backend, create_specialized_backend
from di_backend._core_services import core_services
from di_backend._create_backend import create_backend
from di_backend._factories import Initialization, ServiceFactory, create_service_factory
from di_backend._features import (
    BackendFeature,
    BackendModule,
    BackendPlugin,
    ModuleRegistrationPoints,
    PluginRegistrationPoints,
    create_backend_module,
    create_backend_plugin,
)
from di_backend._inject import inject
from di_backend._loaders import BackendFeatureLoader, create_backend_feature_loader
from di_backend._refs import (
    ExtensionPoint,
    MultitonServiceRef,
    Scope,
    ServiceRef,
    create_extension_point,
    create_service_ref,
)
from di_backend._results import (
    BackendStartupResult,
    ModuleStartupResult,
    PluginStartupResult,
    StartupFailure,
)
from di_backend.errors import BackendStartupError

__all__ = [
    # refs
    "ExtensionPoint",
    "MultitonServiceRef",
    "Scope",
    "ServiceRef",
    "create_extension_point",
    "create_service_ref",
    "inject",
    # features
    "BackendFeature",
    "BackendFeatureLoader",
    "BackendModule",
    "BackendPlugin",
    "Initialization",
    "ModuleRegistrationPoints",
    "PluginRegistrationPoints",
    "ServiceFactory",
    "create_backend_feature_loader",
    "create_backend_module",
    "create_backend_plugin",
    "create_service_factory",
    # backend
    "Backend",
    "BackendStartupError",
    "BackendStartupResult",
    "ModuleStartupResult",
    "PluginStartupResult",
    "StartupFailure",
    "core_services",
    "create_backend",
    "create_specialized_backend",
]
