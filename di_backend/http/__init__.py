"""HTTP for di_backend: routers, health, discovery, service-to-service auth.

Needs the ``http`` extra (Starlette, uvicorn, httpx) and ``cryptography``.
The service interfaces live here until they move to :mod:`di_backend.services`.
"""

from di_backend._core_services import core_services
from di_backend.http._auth import DefaultAuthService
from di_backend.http._auth_policies import AuthPolicy, CredentialsBarrier
from di_backend.http._config_reading import ListenOptions, read_duration, read_listen_options
from di_backend.http._discovery import DiscoveryEndpoint, HostDiscovery
from di_backend.http._error_handler import ErrorHandlerMiddleware
from di_backend.http._errors import (
    AuthenticationError,
    HttpError,
    InputError,
    NotAllowedError,
    NotFoundError,
    NotImplementedHttpError,
    NotModifiedError,
    ResourceConflictError,
    RouterError,
    ServiceUnavailableError,
    status_code_for,
)
from di_backend.http._external_access import ExternalAccessEntry, ExternalTokenHandler
from di_backend.http._factories import (
    AuthContext,
    auth_factory,
    discovery_factory,
    http_auth_factory,
    http_router_factory,
    http_service_factories,
    root_health_factory,
    root_http_router_factory,
    user_info_factory,
)
from di_backend.http._health import DefaultRootHealthService
from di_backend.http._http_auth import DefaultHttpAuthService
from di_backend.http._jwks_client import JwksCache
from di_backend.http._keys import KeyStore
from di_backend.http._lifecycle_gate import LifecycleGate
from di_backend.http._outbound import outbound_client, tls_context
from di_backend.http._plugin_client import PluginClient
from di_backend.http._plugin_router import DefaultHttpRouter
from di_backend.http._plugin_tokens import PluginTokenHandler
from di_backend.http._root_router import DefaultRootHttpRouter
from di_backend.http._server import HttpServer
from di_backend.services._credentials import (
    AuthPolicyAllow,
    BackstageCredentials,
    BackstageNonePrincipal,
    BackstagePrincipal,
    BackstageServicePrincipal,
    BackstageUserPrincipal,
    PluginRequestToken,
    PrincipalType,
    ServiceAccessRestrictions,
)
from di_backend.services._http import (
    AuthService,
    DiscoveryService,
    HealthCheckResult,
    HttpAuthService,
    HttpRouterService,
    RootHealthService,
    RootHttpRouterService,
)

__all__ = [
    # refs and default factories
    "AuthContext",
    "auth_factory",
    "discovery_factory",
    "http_auth_factory",
    "user_info_factory",
    "http_router_factory",
    "http_service_factories",
    "core_services",
    "root_health_factory",
    "root_http_router_factory",
    # interfaces and data
    "AuthPolicy",
    "AuthPolicyAllow",
    "AuthService",
    "AuthenticationError",
    "BackstageCredentials",
    "BackstageNonePrincipal",
    "BackstagePrincipal",
    "BackstageServicePrincipal",
    "BackstageUserPrincipal",
    "CredentialsBarrier",
    "DefaultAuthService",
    "DefaultHttpAuthService",
    "DefaultHttpRouter",
    "DefaultRootHealthService",
    "DefaultRootHttpRouter",
    "DiscoveryEndpoint",
    "DiscoveryService",
    "ErrorHandlerMiddleware",
    "ExternalAccessEntry",
    "ExternalTokenHandler",
    "HealthCheckResult",
    "HostDiscovery",
    "HttpAuthService",
    "HttpError",
    "HttpRouterService",
    "HttpServer",
    "InputError",
    "JwksCache",
    "KeyStore",
    "LifecycleGate",
    "ListenOptions",
    "NotAllowedError",
    "NotFoundError",
    "NotImplementedHttpError",
    "NotModifiedError",
    "PluginRequestToken",
    "PluginTokenHandler",
    "PluginClient",
    "outbound_client",
    "tls_context",
    "PrincipalType",
    "ResourceConflictError",
    "RootHealthService",
    "RootHttpRouterService",
    "RouterError",
    "ServiceAccessRestrictions",
    "ServiceUnavailableError",
    "read_duration",
    "read_listen_options",
    "status_code_for",
]
