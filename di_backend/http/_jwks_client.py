"""Fetch and cache other backends' public keys (their JWKS), by URL and key id."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import httpx

from di_backend.errors import describe_error
from di_backend.http._errors import AuthenticationError
from di_backend.http._jose import VerificationKey, json_object, key_from_jwk
from di_backend.http._outbound import outbound_client

__all__ = ["JwksCache"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Entry:
    attempted_at: datetime  # the last fetch, successful or not
    keys: dict[str, VerificationKey] = field(default_factory=dict[str, VerificationKey])
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    failure: str | None = None  # why the last attempt failed, if it did
    miss: str | None = None  # why the last lookup found no key without fetching


class JwksCache:
    """Public keys of remote issuers, fetched on demand and cached by key id.

    An unknown key id triggers a fetch of the issuer's JWKS at once, unless the
    same URL was fetched (or tried) less than ``cooldown`` ago (default 1 s), so
    random key ids cannot make us hammer an issuer, while a restarted or new
    replica's key is found within a second. :meth:`miss_reason` says why a
    lookup that did not fetch found nothing.

    Tokens naming made-up plugins cannot multiply fetches or memory either: at
    most ``max_fetches_per_second`` fetches (default 20) go out over all URLs,
    and at most ``max_urls`` (default 256) URLs are remembered, the least
    recently used forgotten first.
    """

    def __init__(
        self,
        *,
        timeout: timedelta = timedelta(seconds=5),
        cooldown: timedelta = timedelta(seconds=1),
        clock: Callable[[], datetime] = _now,
        max_urls: int = 256,
        max_fetches_per_second: int = 20,
    ) -> None:
        """Create an empty cache; ``timeout`` bounds each fetch."""
        self._timeout = timeout.total_seconds()
        self._cooldown = cooldown
        self._clock = clock
        self._max_urls = max_urls
        self._max_fetches = max_fetches_per_second
        self._fetched_at: deque[datetime] = deque()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._client: httpx.AsyncClient | None = None

    async def get_key(self, url: str, kid: str) -> VerificationKey | None:
        """Return the key ``kid`` published at ``url``, fetching the JWKS if needed.

        Raises:
            AuthenticationError: the JWKS could not be fetched or read; names the URL.

        """
        entry = self._entries.get(url)
        if entry is None:
            entry = self._entries[url] = _Entry(attempted_at=datetime.min.replace(tzinfo=UTC))
            self._forget_oldest()
        else:
            self._entries.move_to_end(url)
        if kid in entry.keys:
            return entry.keys[kid]
        async with entry.lock:
            if kid in entry.keys:
                return entry.keys[kid]
            age = self._clock() - entry.attempted_at
            if age < self._cooldown:
                wait = (self._cooldown - age).total_seconds()
                if entry.failure is not None:
                    entry.miss = (
                        f"the public keys at {url} could not be fetched "
                        f"{age.total_seconds():.1f}s ago ({entry.failure}); the next attempt "
                        f"is allowed in {wait:.1f}s"
                    )
                else:
                    entry.miss = (
                        f"key '{kid}' is not among the keys fetched from {url} "
                        f"{age.total_seconds():.1f}s ago; keys are fetched again in {wait:.1f}s"
                    )
                return None
            if not self._may_fetch():
                entry.miss = (
                    f"key '{kid}' is unknown and more than {self._max_fetches} key fetches were "
                    f"made in the last second; {url} was not fetched"
                )
                return None
            entry.attempted_at = self._clock()
            entry.miss = None
            try:
                entry.keys = await self._fetch(url)
            except AuthenticationError as error:
                entry.failure = str(error)
                raise
            entry.failure = None
        return entry.keys.get(kid)

    def _forget_oldest(self) -> None:
        while len(self._entries) > self._max_urls:
            url, entry = next(iter(self._entries.items()))
            if entry.lock.locked():  # in use: keep it, and stop here
                break
            del self._entries[url]

    def _may_fetch(self) -> bool:
        now = self._clock()
        while self._fetched_at and now - self._fetched_at[0] >= timedelta(seconds=1):
            self._fetched_at.popleft()
        if len(self._fetched_at) >= self._max_fetches:
            return False
        self._fetched_at.append(now)
        return True

    def miss_reason(self, url: str) -> str | None:
        """Why the last lookup at ``url`` returned no key without fetching, if it did."""
        entry = self._entries.get(url)
        return None if entry is None else entry.miss

    async def _fetch(self, url: str) -> dict[str, VerificationKey]:
        if self._client is None:
            # Never through a proxy from the environment: whoever runs it could serve keys.
            self._client = outbound_client(timeout=self._timeout)
        try:
            response = await self._client.get(url)
            response.raise_for_status()
            document: object = response.json()
        except (httpx.HTTPError, ValueError) as error:
            msg = f"Unable to fetch the public keys at {url}; caused by {describe_error(error)}"
            raise AuthenticationError(msg) from error
        keys: dict[str, VerificationKey] = {}
        jwks = json_object(document)
        items = None if jwks is None else jwks.get("keys")
        if not isinstance(items, list):
            msg = f"The public keys at {url} are not a JWKS (an object with a 'keys' list)"
            raise AuthenticationError(msg)
        for entry in cast("list[object]", items):
            jwk = json_object(entry)
            if jwk is None:
                continue
            key = key_from_jwk(jwk)
            if key is not None:
                keys[key.kid] = key
        return keys

    async def aclose(self) -> None:
        """Close the HTTP client; the cache can still be used (a new client is made)."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
