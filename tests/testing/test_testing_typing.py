"""Typing promises of ``di_backend.testing``, checked by mypy and pyright (and run by pytest).

``assert_type`` lines pin what the checkers infer; a ``# type: ignore[...]``
line pins a mistake they must reject (an unused ignore fails both checkers).
"""

from __future__ import annotations

from typing import assert_type

import pytest
from testing_support import ActionRegistry, ListLabels, ListRegistry, action_module, actions_ext

from di_backend import Backend, ServiceFactory, core_services
from di_backend.config import ObservableConfig
from di_backend.errors import RegistrationError
from di_backend.http import DefaultHttpRouter, DefaultRootHealthService, DefaultRootHttpRouter
from di_backend.services import (
    AuthService,
    BackstageCredentials,
    BackstageNonePrincipal,
    BackstageServicePrincipal,
    BackstageUserPrincipal,
    DiscoveryService,
    HttpAuthService,
    InstalledPlugin,
    LoggerService,
    RootConfigService,
    RootLifecycleService,
)
from di_backend.testing import (
    ExtensionPointImpl,
    MockAuth,
    MockDiscovery,
    MockHttpAuth,
    MockLogger,
    MockRootInstanceMetadata,
    MockRootLifecycle,
    ServiceFactoryTester,
    ServiceMock,
    mock_credentials,
    mock_services,
    start_test_backend,
)


def test_fakes_factories_and_mocks_are_precisely_typed() -> None:
    """Each entry's fake, factory and mock carry the service's own types."""
    assert_type(mock_services.root_config(data={"a": 1}), ObservableConfig)
    assert_type(mock_services.root_logger(level="info"), MockLogger)
    assert_type(mock_services.root_lifecycle(), MockRootLifecycle)
    metadata = mock_services.root_instance_metadata(plugins=[InstalledPlugin("a", ())])
    assert_type(metadata, MockRootInstanceMetadata)
    assert_type(mock_services.root_config.factory(data={}), ServiceFactory[RootConfigService])
    assert_type(mock_services.root_lifecycle.factory(), ServiceFactory[RootLifecycleService])
    logger = mock_services.logger.mock()
    assert_type(logger, ServiceMock[LoggerService])
    assert_type(logger.factory, ServiceFactory[LoggerService])
    assert isinstance(logger, LoggerService)


def test_http_fakes_factories_and_credentials_are_typed() -> None:
    """The HTTP entries and ``mock_credentials`` carry precise types; factory options differ."""
    assert_type(mock_services.root_http_router(), DefaultRootHttpRouter)
    assert_type(mock_services.root_health(), DefaultRootHealthService)
    assert_type(mock_services.http_router(plugin_id="a"), DefaultHttpRouter)
    assert_type(mock_services.discovery(base_url="http://x"), MockDiscovery)
    assert_type(mock_services.auth(plugin_id="a"), MockAuth)
    assert_type(mock_services.http_auth(default_credentials=mock_credentials.none()), MockHttpAuth)
    assert_type(mock_services.auth.factory(), ServiceFactory[AuthService])
    assert_type(mock_services.discovery.factory(), ServiceFactory[DiscoveryService])
    assert_type(mock_services.http_auth.mock().factory, ServiceFactory[HttpAuthService])
    assert_type(mock_credentials.none(), BackstageCredentials[BackstageNonePrincipal])
    assert_type(mock_credentials.user(), BackstageCredentials[BackstageUserPrincipal])
    assert_type(mock_credentials.service(), BackstageCredentials[BackstageServicePrincipal])
    assert_type(mock_credentials.service.header("plugin:a"), str)
    with pytest.raises(TypeError):
        mock_services.auth.factory(plugin_id="a")  # type: ignore[call-arg]


def test_fake_keyword_arguments_are_checked() -> None:
    """A wrong keyword or level for a fake or its factory is a type error."""
    with pytest.raises(TypeError):
        mock_services.root_config(datum={})  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="Invalid log level 'loud'"):
        mock_services.logger.factory(level="loud")  # type: ignore[arg-type]


async def test_tester_results_are_typed() -> None:
    """``get_subject`` returns the factory's type, ``get_service`` the ref's type."""
    tester = ServiceFactoryTester.create(mock_services.root_config.factory(data={"a": 1}))
    assert_type(tester, ServiceFactoryTester[RootConfigService])
    config = await tester.get_subject()
    assert_type(config, RootConfigService)
    logger = await tester.get_service(core_services.logger)
    assert_type(logger, LoggerService)
    assert config.get_number("a") == 1


async def test_extension_point_pairs_are_checked() -> None:
    """An implementation that does not fit its extension point is a type error."""
    backend = await start_test_backend(
        features=[action_module("github")], extension_points=[(actions_ext, ListRegistry())]
    )
    assert_type(backend, Backend)
    await backend.stop()
    registry: ActionRegistry = ListRegistry()
    assert isinstance(ExtensionPointImpl(actions_ext, registry), ExtensionPointImpl)
    with pytest.raises(RegistrationError):  # at run time: no module depends on it
        await start_test_backend(extension_points=[(actions_ext, ListLabels())])  # type: ignore[misc]
    ExtensionPointImpl(actions_ext, ListLabels())  # type: ignore[misc]
