"""Tokens naming made-up plugins cannot multiply key fetches or grow the key cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from di_backend.http._jose import VerificationKey
from di_backend.http._jwks_client import JwksCache


class CountingCache(JwksCache):
    """A cache whose fetches are counted and find no keys (no network)."""

    def __init__(self, now: list[datetime], **options: int) -> None:
        super().__init__(clock=lambda: now[0], **options)  # type: ignore[arg-type]
        self.fetches: list[str] = []

    async def _fetch(self, url: str) -> dict[str, VerificationKey]:
        self.fetches.append(url)
        return {}


async def test_fetches_over_all_urls_are_rate_limited() -> None:
    """Fifty forged sources in one second make 20 fetches; the rest say why they did not."""
    now = [datetime(2026, 12, 2, tzinfo=UTC)]
    cache = CountingCache(now)
    for n in range(50):
        assert await cache.get_key(f"http://127.0.0.1/api/forged{n}/jwks.json", "k") is None
    assert len(cache.fetches) == 20
    reason = cache.miss_reason("http://127.0.0.1/api/forged49/jwks.json")
    assert reason is not None
    assert "more than 20 key fetches were made in the last second" in reason
    now[0] += timedelta(seconds=1.1)
    await cache.get_key("http://127.0.0.1/api/later/jwks.json", "k")
    assert cache.fetches[-1] == "http://127.0.0.1/api/later/jwks.json"


async def test_the_cache_remembers_a_bounded_number_of_urls() -> None:
    """Past ``max_urls`` the least recently used URLs are forgotten."""
    now = [datetime(2026, 12, 2, tzinfo=UTC)]
    cache = CountingCache(now, max_urls=16, max_fetches_per_second=1000)
    for n in range(100):
        await cache.get_key(f"http://127.0.0.1/api/p{n}/jwks.json", "k")
    assert len(cache._entries) == 16
    assert "http://127.0.0.1/api/p99/jwks.json" in cache._entries
    assert "http://127.0.0.1/api/p0/jwks.json" not in cache._entries
