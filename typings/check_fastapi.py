"""What the type checkers accept and reject in ``di_backend.fastapi``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from di_backend import ServiceRef, create_service_ref
from di_backend.fastapi import credentials, service
from di_backend.services import (
    BackstageCredentials,
    BackstagePrincipal,
    BackstageServicePrincipal,
    BackstageUserPrincipal,
)


class Store:
    """A plugin's service."""

    def count(self) -> int:
        """How many items."""
        return 0


store_ref: ServiceRef[Store] = create_service_ref(id="typings.store")

services_only: Callable[[Request], Awaitable[BackstageCredentials[BackstageServicePrincipal]]] = (
    credentials(allow=["service"])
)
users_only: Callable[[Request], Awaitable[BackstageCredentials[BackstageUserPrincipal]]] = (
    credentials(allow=["user"])
)
anyone: Callable[[Request], Awaitable[BackstageCredentials[BackstagePrincipal]]] = credentials()
store_of: Callable[[Request], Awaitable[Store]] = service(store_ref)


async def handler(request: Request) -> None:
    """What the dependencies give, as a handler sees it."""
    caller = await services_only(request)
    _subject: str = caller.principal.subject
    user = await users_only(request)
    _ref: str = user.principal.user_entity_ref
    _count: int = (await store_of(request)).count()
    _wrong: BackstageCredentials[BackstageUserPrincipal] = await services_only(request)  # type: ignore[assignment]
    _no_such: str = (await services_only(request)).principal.user_entity_ref  # type: ignore[attr-defined]
    _not_a_store: int = await store_of(request)  # type: ignore[assignment]


bad_allow = credentials(allow=["robot"])  # type: ignore[list-item]
