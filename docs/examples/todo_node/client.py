"""A client of the ``todo`` plugin's HTTP API, for plugins that run anywhere.

The client never assumes where ``todo`` runs: it asks ``discovery`` for the base URL
on every call and authenticates with a service token from ``auth``, so the same code
works when ``todo`` runs in the caller's backend or in another process.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import ClassVar, cast

import httpx

from di_backend.errors import describe_error
from di_backend.http import HttpError, ServiceUnavailableError, outbound_client
from di_backend.services import AuthService, DiscoveryService

TODO_PLUGIN_ID = "todo"
"""The id of the plugin this client calls."""

DEFAULT_TIMEOUT = timedelta(seconds=5)
"""How long a whole call to ``todo`` (connect, send, wait, read) may take before it fails."""


class TodoBadGatewayError(HttpError):
    """The ``todo`` plugin answered, but not with what the client expects (502)."""

    status_code: ClassVar[int] = 502
    error_name: ClassVar[str] = "BadGatewayError"


def _get(value: object, key: str) -> object:
    """``value[key]`` when ``value`` is a JSON object, else ``None``."""
    if isinstance(value, dict):
        return cast("dict[str, object]", value).get(key)
    return None


def _error_message(response: httpx.Response) -> str:
    """The ``error.message`` of a Backstage error body, else the start of the body."""
    try:
        body: object = response.json()
    except ValueError:
        body = None
    message = _get(_get(body, "error"), "message")
    return message if isinstance(message, str) else response.text[:200]


def _action_names(body: object) -> list[str] | None:
    """The names in ``{"actions": [<str>, ...]}``, or ``None`` for any other shape."""
    actions = _get(body, "actions")
    if not isinstance(actions, list):
        return None
    items = cast("list[object]", actions)
    names = [name for name in items if isinstance(name, str)]
    return names if len(names) == len(items) else None


class TodoClient:
    """Calls the ``todo`` plugin on behalf of the plugin whose services it was given.

    Example::

        client = TodoClient(discovery, auth)
        names = await client.list_actions()  # GET <todo base URL>/actions
    """

    def __init__(
        self,
        discovery: DiscoveryService,
        auth: AuthService,
        *,
        timeout: timedelta = DEFAULT_TIMEOUT,
    ) -> None:
        """Use the caller's ``discovery`` and ``auth``; bound every call by ``timeout``."""
        self._discovery = discovery
        self._auth = auth
        self._timeout = timeout

    async def list_actions(self) -> list[str]:
        """Return the names of the actions registered with the ``todo`` plugin.

        Raises:
            ServiceUnavailableError: ``todo`` could not be reached in time (connection
                refused, timeout) or answered 503; the message names the plugin and URL.
            TodoBadGatewayError: ``todo`` answered with another error or an unexpected body.

        """
        base_url = await self._discovery.get_base_url(TODO_PLUGIN_ID)
        url = f"{base_url}/actions"
        token = await self._auth.get_plugin_request_token(
            on_behalf_of=await self._auth.get_own_service_credentials(),
            target_plugin_id=TODO_PLUGIN_ID,
        )
        headers = {"Authorization": f"Bearer {token.token}"}
        # trust_env=False: plugin-to-plugin calls go straight to the discovered URL,
        # never through an HTTP proxy taken from the environment.
        seconds = self._timeout.total_seconds()
        try:
            # The whole call (connect, send, wait, read) gets `seconds`; httpx's own
            # timeout bounds each step too, so no socket is left waiting longer.
            async with asyncio.timeout(seconds):
                async with outbound_client(timeout=seconds) as http:
                    response = await http.get(url, headers=headers)
        except (httpx.TransportError, TimeoutError) as error:  # refused, timed out, reset
            cause = (
                f"TimeoutError: no answer within {seconds:g}s"
                if isinstance(error, TimeoutError)
                else describe_error(error)
            )
            msg = f"Plugin '{TODO_PLUGIN_ID}' is unreachable at {url}; caused by {cause}"
            raise ServiceUnavailableError(msg) from error
        if response.status_code == 503:
            msg = f"Plugin '{TODO_PLUGIN_ID}' at {url} is unavailable: {_error_message(response)}"
            raise ServiceUnavailableError(msg)
        if response.status_code != 200:
            msg = (
                f"Plugin '{TODO_PLUGIN_ID}' at {url} answered {response.status_code}: "
                f"{_error_message(response)}"
            )
            raise TodoBadGatewayError(msg)
        try:
            body: object = response.json()
        except ValueError:
            body = None
        names = _action_names(body)
        if names is None:
            msg = f"Plugin '{TODO_PLUGIN_ID}' at {url} answered with an unexpected body"
            raise TodoBadGatewayError(msg)
        return names
