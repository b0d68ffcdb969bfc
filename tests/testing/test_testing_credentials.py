"""Tests for ``mock_credentials``: credentials, and the exact mock tokens Backstage uses."""

from __future__ import annotations

import re

import pytest

from di_backend.services import (
    BackstageNonePrincipal,
    BackstageServicePrincipal,
    BackstageUserPrincipal,
    ServiceAccessRestrictions,
)
from di_backend.testing import (
    DEFAULT_MOCK_SERVICE_SUBJECT,
    DEFAULT_MOCK_USER_ENTITY_REF,
    InvalidUserEntityRefError,
    mock_credentials,
    mock_services,
)


class TestCredentials:
    def test_none(self) -> None:
        """``none()`` is the nobody principal; its header carries the mock none token."""
        assert mock_credentials.none().principal == BackstageNonePrincipal()
        assert mock_credentials.none.header() == "Bearer mock-none-token"

    def test_user_defaults_to_the_mock_user(self) -> None:
        """``user()`` is ``user:default/mock`` and carries its own token."""
        credentials = mock_credentials.user()
        assert DEFAULT_MOCK_USER_ENTITY_REF == "user:default/mock"
        assert credentials.principal == BackstageUserPrincipal("user:default/mock")
        assert credentials.token == 'mock-user-token:{"sub":"user:default/mock"}'

    def test_service_with_subject_and_restrictions(self) -> None:
        """``service(subject, restrictions)`` builds a service principal; Backstage's default."""
        restrictions = ServiceAccessRestrictions(plugin_ids=("todo",))
        credentials = mock_credentials.service("plugin:other", restrictions)
        assert credentials.principal == BackstageServicePrincipal("plugin:other", restrictions)
        assert DEFAULT_MOCK_SERVICE_SUBJECT == "external:test-service"
        assert mock_credentials.service().principal.subject == "external:test-service"

    def test_limited_user_is_a_user(self) -> None:
        """``limited_user(ref)`` authenticates as the plain user."""
        jane = "user:default/jane"
        assert mock_credentials.limited_user(jane).principal == BackstageUserPrincipal(jane)

    @pytest.mark.parametrize(
        "ref", ["jane", "user:jane", "default/jane", "", "user:default/jane\n"]
    )
    def test_malformed_user_ref_is_rejected(self, ref: str) -> None:
        """A user ref that is not ``<kind>:<namespace>/<name>`` raises Backstage's message."""
        message = f"Invalid user entity reference '{ref}', expected <kind>:<namespace>/<name>"
        with pytest.raises(InvalidUserEntityRefError, match=re.escape(message)):
            mock_credentials.user(ref)
        with pytest.raises(TypeError, match=re.escape(message)):
            mock_credentials.user.token(ref)


class TestTokens:
    def test_user_tokens_and_headers(self) -> None:
        """User tokens are Backstage's strings: plain, with a JSON payload, and invalid."""
        assert mock_credentials.user.token() == "mock-user-token"
        jane = 'mock-user-token:{"sub":"user:default/jane"}'
        assert mock_credentials.user.token("user:default/jane") == jane
        assert mock_credentials.user.header("user:default/jane") == f"Bearer {jane}"
        assert mock_credentials.user.invalid_token() == "mock-invalid-user-token"
        assert mock_credentials.user.invalid_header() == "Bearer mock-invalid-user-token"

    def test_limited_user_tokens_and_cookies(self) -> None:
        """Limited tokens always name the user; cookies use the ``backstage-auth`` name."""
        token = 'mock-limited-user-token:{"sub":"user:default/mock"}'
        assert mock_credentials.limited_user.token() == token
        assert mock_credentials.limited_user.cookie() == f"backstage-auth={token}"
        invalid = "backstage-auth=mock-invalid-limited-user-token"
        assert mock_credentials.limited_user.invalid_cookie() == invalid

    def test_service_tokens(self) -> None:
        """Service tokens: plain, by subject, on behalf of a service or a user, for a target."""
        service = mock_credentials.service
        assert service.token() == "mock-service-token"
        assert service.header("plugin:other") == 'Bearer mock-service-token:{"sub":"plugin:other"}'
        on_behalf = service.token(
            on_behalf_of=mock_credentials.service("plugin:a"), target_plugin_id="b"
        )
        assert on_behalf == 'mock-service-token:{"sub":"plugin:a","target":"b"}'
        for_user = service.token(on_behalf_of=mock_credentials.user(), target_plugin_id="b")
        assert for_user == 'mock-service-token:{"obo":"user:default/mock","target":"b"}'
        assert service.invalid_header() == "Bearer mock-invalid-service-token"

    def test_subject_and_on_behalf_of_exclude_each_other(self) -> None:
        """Giving both a subject and ``on_behalf_of`` is refused."""
        with pytest.raises(ValueError, match="either subject or on_behalf_of"):
            mock_credentials.service.token("plugin:a", on_behalf_of=mock_credentials.none())

    async def test_every_token_authenticates_as_its_credentials(self) -> None:
        """``MockAuth`` reads back exactly the principal each token was made for."""
        auth = mock_services.auth(plugin_id="todo")
        jane = "user:default/jane"
        service_token = mock_credentials.service.token(
            on_behalf_of=mock_credentials.service("plugin:a"), target_plugin_id="todo"
        )
        cases = [
            (mock_credentials.user.token(), mock_credentials.user().principal),
            (mock_credentials.user.token(jane), BackstageUserPrincipal(jane)),
            (mock_credentials.service.token(), mock_credentials.service().principal),
            (mock_credentials.service.token("plugin:x"), BackstageServicePrincipal("plugin:x")),
            (service_token, BackstageServicePrincipal("plugin:a")),
        ]
        for token, principal in cases:
            credentials = await auth.authenticate(token)
            assert credentials.principal == principal, token
        limited = await auth.authenticate(
            mock_credentials.limited_user.token(jane), allow_limited_access=True
        )
        assert limited.principal == BackstageUserPrincipal(jane)


def test_entries_print_their_name() -> None:
    """Each entry's repr says where it comes from."""
    assert repr(mock_credentials.service) == "mock_credentials.service"
    assert repr(mock_credentials.limited_user) == "mock_credentials.limited_user"
