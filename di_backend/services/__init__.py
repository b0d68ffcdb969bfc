"""The core service interfaces (``typing.Protocol`` classes) that plugins program against."""

from di_backend.services._cache import CacheService
from di_backend.services._config import ConfigService, JsonValue, RootConfigService
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
from di_backend.services._database import DatabaseMigrations, DatabaseService
from di_backend.services._durations import DurationLike, HumanDuration
from di_backend.services._http import (
    AuthService,
    DiscoveryService,
    HealthCheckResult,
    HttpAuthService,
    HttpRouterService,
    RootHealthService,
    RootHttpRouterService,
)
from di_backend.services._lifecycle import (
    LifecycleHook,
    LifecycleService,
    PluginLifecycleController,
    RootLifecycleController,
    RootLifecycleService,
)
from di_backend.services._logging import LoggerService, LogMeta, RootLoggerService
from di_backend.services._metadata import (
    InstalledModule,
    InstalledPlugin,
    PluginMetadataService,
    RootInstanceMetadataService,
)
from di_backend.services._scheduler import (
    AbortSignal,
    CronFrequency,
    Frequency,
    ManualFrequency,
    SchedulerService,
    TaskDescriptor,
    TaskFunction,
    TaskRunner,
    TaskScheduleDefinition,
    TaskScope,
)
from di_backend.services._user_info import BackstageUserInfo, UserInfoService

__all__ = [
    "AuthPolicyAllow",
    "AuthService",
    "BackstageCredentials",
    "BackstageNonePrincipal",
    "BackstagePrincipal",
    "BackstageServicePrincipal",
    "BackstageUserInfo",
    "BackstageUserPrincipal",
    "DiscoveryService",
    "HealthCheckResult",
    "HttpAuthService",
    "HttpRouterService",
    "PluginRequestToken",
    "PrincipalType",
    "RootHealthService",
    "RootHttpRouterService",
    "ServiceAccessRestrictions",
    "ConfigService",
    "InstalledModule",
    "InstalledPlugin",
    "JsonValue",
    "LifecycleHook",
    "LifecycleService",
    "LogMeta",
    "LoggerService",
    "PluginLifecycleController",
    "PluginMetadataService",
    "RootConfigService",
    "RootInstanceMetadataService",
    "RootLifecycleController",
    "RootLifecycleService",
    "RootLoggerService",
    "UserInfoService",
    # data services
    "AbortSignal",
    "CacheService",
    "CronFrequency",
    "DatabaseMigrations",
    "DatabaseService",
    "DurationLike",
    "Frequency",
    "HumanDuration",
    "ManualFrequency",
    "SchedulerService",
    "TaskDescriptor",
    "TaskFunction",
    "TaskRunner",
    "TaskScheduleDefinition",
    "TaskScope",
]
