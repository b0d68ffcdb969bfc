"""``mock_services.user_info``: user info from the credentials alone, as Backstage's mock."""

from __future__ import annotations

from collections.abc import Sequence

from di_backend._core_services import core_services
from di_backend._factories import ServiceFactory, create_service_factory
from di_backend.services import BackstageCredentials, BackstagePrincipal, BackstageUserInfo
from di_backend.services._user_info import UserInfoService, user_principal_of

__all__ = ["MockUserInfo", "user_info", "user_info_factory"]


class MockUserInfo:
    """A ``UserInfoService`` that needs no auth backend.

    The user is the credentials' ``user_entity_ref``; the ownership refs are
    ``ownership_entity_refs`` if given, else just the user (Backstage's
    ``mockServices.userInfo``).
    """

    def __init__(self, ownership_entity_refs: Sequence[str] | None = None) -> None:
        """Answer ``ownership_entity_refs`` for every user (default: the user alone)."""
        self._ownership = None if ownership_entity_refs is None else tuple(ownership_entity_refs)

    async def get_user_info(
        self, credentials: BackstageCredentials[BackstagePrincipal]
    ) -> BackstageUserInfo:
        """See :meth:`UserInfoService.get_user_info`."""
        principal = user_principal_of(credentials)
        ref = principal.user_entity_ref
        return BackstageUserInfo(ref, self._ownership if self._ownership is not None else (ref,))


def user_info(*, ownership_entity_refs: Sequence[str] | None = None) -> MockUserInfo:
    """Return a :class:`MockUserInfo`."""
    return MockUserInfo(ownership_entity_refs)


def user_info_factory(
    *, ownership_entity_refs: Sequence[str] | None = None
) -> ServiceFactory[UserInfoService]:
    """A factory serving one :class:`MockUserInfo` to every plugin."""
    service = MockUserInfo(ownership_entity_refs)
    return create_service_factory(core_services.user_info, lambda: service)
