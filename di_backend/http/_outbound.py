"""The outbound HTTP clients of di_backend: no proxy from the environment, TLS set up once.

Every call di_backend makes to another plugin or backend (plugin calls, key fetches,
user info, the events hub) goes straight to the URL discovery gives: the
environment's ``HTTP_PROXY`` and friends are ignored (``trust_env=False``), because a
proxy could serve its own keys. Certificates are verified against certifi's CA
bundle, as httpx does by default; that context is built once per process, because
building it takes about 18 ms, which a new client per call used to pay every time.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping

import httpx

__all__ = ["outbound_client", "tls_context"]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Httpx's default certificate verification, built on first use and then shared."""
    return httpx.create_ssl_context(trust_env=False)


def outbound_client(
    *,
    timeout: float | httpx.Timeout | None = 5.0,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    limits: httpx.Limits | None = None,
) -> httpx.AsyncClient:
    """Return an ``httpx.AsyncClient`` for calls to other plugins and backends.

    It ignores proxy settings from the environment and verifies TLS with the
    shared :func:`tls_context`. Close it (``async with``) when done.
    """
    return httpx.AsyncClient(
        timeout=timeout,
        base_url=base_url,
        headers=headers,
        limits=limits or httpx.Limits(),
        trust_env=False,
        verify=tls_context(),
    )
