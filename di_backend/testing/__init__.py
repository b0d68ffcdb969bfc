"""Testing utilities (Backstage's ``backend-test-utils``): test backends, mocks, factory tests.

* :func:`start_test_backend` starts a backend whose core services are mocks;
  it serves HTTP on 127.0.0.1 with a free port when a feature uses HTTP
  (:func:`server_url`, :func:`http_client`, :func:`sync_http_client`).
* :data:`mock_services` has a fake, a factory and a recording mock for every
  core service but ``plugin_metadata``.
* :data:`mock_credentials` makes credentials and the tokens and headers the
  mock auth services accept.
* :class:`ServiceFactoryTester` creates one factory's service with its
  dependencies, without a backend.
* The pytest plugin (``di_backend.testing.pytest_plugin``, loaded through its
  entry point) provides the ``test_backend`` and ``sync_test_backend``
  fixtures and stops test backends a session left running.

See ``docs/testing.md``.
"""

from di_backend.testing._factory_tester import ServiceFactoryTester
from di_backend.testing._fakes import MockLifecycle, MockRootInstanceMetadata, MockRootLifecycle
from di_backend.testing._mock_auth import LimitedUserToken, MockAuth, MockHttpAuth
from di_backend.testing._mock_credentials import (
    DEFAULT_MOCK_SERVICE_SUBJECT,
    DEFAULT_MOCK_USER_ENTITY_REF,
    InvalidUserEntityRefError,
    mock_credentials,
)
from di_backend.testing._mock_data import MockDatabase, MockSchedulerService
from di_backend.testing._mock_events import MockEventsService
from di_backend.testing._mock_http import MockDiscovery
from di_backend.testing._mock_kit import MockServiceEntry, ServiceMock
from di_backend.testing._mock_logger import LogEntry, LogLevel, MockLogger, MockLogLevel
from di_backend.testing._mock_services import mock_services
from di_backend.testing._mock_user_info import MockUserInfo
from di_backend.testing._servers import ServerInfo, find_postgres, find_redis, free_port
from di_backend.testing._starters import AsyncTestBackends, SyncTestBackends
from di_backend.testing._test_backend import (
    EXTENSION_POINT_MODULE_ID,
    ExtensionPointImpl,
    ExtensionPoints,
    StartingTestBackend,
    start_test_backend,
)
from di_backend.testing._test_databases import TestCaches, TestDatabases, require_server
from di_backend.testing._test_server import http_client, server_url, sync_http_client
from di_backend.testing._user_tokens import UserTokenIssuer

__all__ = [
    # test backends
    "start_test_backend",
    "StartingTestBackend",
    "server_url",
    "http_client",
    "sync_http_client",
    "ExtensionPointImpl",
    "ExtensionPoints",
    "EXTENSION_POINT_MODULE_ID",
    "AsyncTestBackends",
    "SyncTestBackends",
    # data services
    "MockDatabase",
    "MockSchedulerService",
    "ServerInfo",
    "TestCaches",
    "TestDatabases",
    "find_postgres",
    "find_redis",
    "free_port",
    "require_server",
    # mocks
    "mock_services",
    "MockServiceEntry",
    "ServiceMock",
    "MockLogger",
    "MockLogLevel",
    "LogEntry",
    "LogLevel",
    "MockRootLifecycle",
    "MockLifecycle",
    "MockRootInstanceMetadata",
    "MockDiscovery",
    "MockEventsService",
    "MockUserInfo",
    "UserTokenIssuer",
    "MockAuth",
    "MockHttpAuth",
    "LimitedUserToken",
    # credentials
    "mock_credentials",
    "DEFAULT_MOCK_USER_ENTITY_REF",
    "DEFAULT_MOCK_SERVICE_SUBJECT",
    "InvalidUserEntityRefError",
    # service factories
    "ServiceFactoryTester",
]
