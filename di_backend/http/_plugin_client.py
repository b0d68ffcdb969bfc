"""``PluginClient``: call another plugin over HTTP in one line, wherever it runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from di_backend.http._outbound import outbound_client
from di_backend.services import BackstageCredentials, BackstagePrincipal
from di_backend.services._http import AuthService, DiscoveryService

__all__ = ["PluginClient"]


class PluginClient:
    """Resolves a plugin's base URL through discovery and sends a service token with each call.

    ``await client.get("todo", "/actions")`` asks ``discovery`` for todo's base URL
    (on every call: it may change), gets a token for plugin ``todo`` from ``auth``
    (on behalf of this plugin, or of ``on_behalf_of`` when given) and returns the
    ``httpx.Response``. The client never uses proxy settings from the environment.

    Args:
        discovery: the calling plugin's discovery service.
        auth: the calling plugin's auth service.
        timeout: bounds each request (default 10 s).
        client: an ``httpx.AsyncClient`` to send with (yours to close); without one,
            each call opens and closes its own.
    """

    __slots__ = ("_auth", "_client", "_discovery", "_timeout")

    def __init__(
        self,
        discovery: DiscoveryService,
        auth: AuthService,
        *,
        timeout: timedelta = timedelta(seconds=10),
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._discovery = discovery
        self._auth = auth
        self._timeout = timeout.total_seconds()
        self._client = client

    async def request(
        self,
        method: str,
        target_plugin_id: str,
        path: str,
        *,
        on_behalf_of: BackstageCredentials[BackstagePrincipal] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send ``method`` to ``<base URL of target_plugin_id><path>`` with a service token.

        ``kwargs`` go to ``httpx`` (``json=``, ``params=``, ``headers=``, ...).

        Raises:
            ValueError: ``path`` does not start with ``/``.
            httpx.HTTPError: the request failed (the response status is not checked).
        """
        if not path.startswith("/"):
            msg = (
                f"The path of a call to plugin '{target_plugin_id}' must start with '/', "
                f"got {path!r}"
            )
            raise ValueError(msg)
        base_url = await self._discovery.get_base_url(target_plugin_id)
        credentials = on_behalf_of or await self._auth.get_own_service_credentials()
        token = await self._auth.get_plugin_request_token(
            on_behalf_of=credentials, target_plugin_id=target_plugin_id
        )
        headers = dict(kwargs.pop("headers", None) or {})
        if token.token:
            headers["Authorization"] = f"Bearer {token.token}"
        url = f"{base_url}{path}"
        if self._client is not None:
            return await self._client.request(
                method, url, headers=headers, timeout=self._timeout, **kwargs
            )
        async with outbound_client(timeout=self._timeout) as client:
            return await client.request(method, url, headers=headers, **kwargs)

    async def get(self, target_plugin_id: str, path: str, **kwargs: Any) -> httpx.Response:
        """``GET``; see :meth:`request`."""
        return await self.request("GET", target_plugin_id, path, **kwargs)

    async def post(self, target_plugin_id: str, path: str, **kwargs: Any) -> httpx.Response:
        """``POST``; see :meth:`request`."""
        return await self.request("POST", target_plugin_id, path, **kwargs)
