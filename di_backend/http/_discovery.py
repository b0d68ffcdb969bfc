"""Host discovery: the base URLs of plugins, here or in other backends."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from di_backend.errors import ConfigError
from di_backend.http._config_reading import read_listen_options
from di_backend.http._server import display_host
from di_backend.services import ConfigService, LoggerService

__all__ = ["DiscoveryEndpoint", "HostDiscovery"]

_PLUGIN_ID = re.compile(r"\{\{\s*pluginId\s*\}\}")
_SRV = re.compile(r"^[a-z]+\+srv:", re.IGNORECASE)

ListenAddress = Callable[[], tuple[str, int]]
"""Returns the host and the real port the backend listens on."""


@dataclass(frozen=True, slots=True)
class DiscoveryEndpoint:
    """Where some plugins are served instead of this backend.

    Attributes:
        plugins: the plugin ids it covers; ``*`` covers every plugin.
        internal: the internal URL template (``{{pluginId}}`` is replaced), if any.
        external: the external URL template, if any.

    """

    plugins: tuple[str, ...]
    internal: str | None
    external: str | None

    def covers(self, plugin_id: str) -> bool:
        """Return whether the endpoint lists ``plugin_id`` or ``*``."""
        return "*" in self.plugins or plugin_id in self.plugins


def _encoded(plugin_id: str) -> str:
    # JavaScript's encodeURIComponent, which Backstage applies to the plugin id.
    return quote(plugin_id, safe="!*'()")


def _resolve(template: str, plugin_id: str) -> str:
    encoded = _encoded(plugin_id)
    return _PLUGIN_ID.sub(lambda _: encoded, template)


def _resolvers(endpoints: tuple[DiscoveryEndpoint, ...], *, external: bool) -> dict[str, str]:
    """Template per plugin id (``*`` included); a later endpoint overrides an earlier one."""
    resolvers: dict[str, str] = {}
    for endpoint in endpoints:
        template = endpoint.external if external else endpoint.internal
        if template is not None:
            for plugin_id in endpoint.plugins:
                resolvers[plugin_id] = template
    return resolvers


def _template(value: object, where: str, *, external: bool) -> str:
    if not isinstance(value, str) or not value:
        msg = f"Invalid config at '{where}', expected a URL string, got {value!r}"
        raise ConfigError(msg)
    if _SRV.match(value):
        if external:
            msg = (
                "SRV resolver URLs cannot be used in the target for external endpoints "
                f"(at '{where}')"
            )
        else:
            msg = f"SRV resolver URLs are not supported by di_backend yet (at '{where}')"
        raise ConfigError(msg)
    return value


def _read_endpoints(config: ConfigService) -> tuple[DiscoveryEndpoint, ...]:
    endpoints: list[DiscoveryEndpoint] = []
    for index, entry in enumerate(config.get_optional_config_array("discovery.endpoints") or []):
        where = f"discovery.endpoints[{index}]"
        plugins = entry.get_optional("plugins")
        if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
            msg = f"Invalid config at '{where}.plugins', expected a list of plugin ids"
            raise ConfigError(msg)
        target = entry.get_optional("target")
        if isinstance(target, dict):
            internal = target.get("internal")
            external = target.get("external")
            endpoint = DiscoveryEndpoint(
                plugins=tuple(str(p) for p in plugins),
                internal=None
                if internal is None
                else _template(internal, f"{where}.target.internal", external=False),
                external=None
                if external is None
                else _template(external, f"{where}.target.external", external=True),
            )
        else:
            url = _template(target, f"{where}.target", external=False)
            endpoint = DiscoveryEndpoint(
                plugins=tuple(str(p) for p in plugins), internal=url, external=url
            )
        endpoints.append(endpoint)
    return tuple(endpoints)


def _default_listen(config: ConfigService) -> ListenAddress:
    options = read_listen_options(config)
    return lambda: (options.host, options.port)


class HostDiscovery:
    """Backstage's ``HostDiscovery``.

    * internal URL: ``http://<listen host>:<port>/api/<plugin_id>`` (``""``/``::``
      become ``localhost``, ``0.0.0.0`` becomes ``127.0.0.1``);
    * external URL: ``<backend.baseUrl>/api/<plugin_id>`` (the internal URL when
      ``backend.baseUrl`` is not set);
    * ``discovery.endpoints: [{target, plugins}]`` sends the listed plugins elsewhere;
      ``target`` is a URL template with ``{{pluginId}}`` or ``{internal, external}``.
      As in Backstage, an endpoint naming the plugin beats one listing ``*``, and
      among those the last one wins; the plugin id is URL-encoded into the target.

    The endpoints are read again when the configuration changes.
    """

    def __init__(
        self,
        config: ConfigService,
        *,
        listen_address: ListenAddress | None = None,
        logger: LoggerService | None = None,
    ) -> None:
        """Read ``config``; ``listen_address`` gives the real address of the local server.

        Raises:
            ConfigError: ``discovery.endpoints`` or ``backend.listen`` is malformed.

        """
        self._config = config
        self._listen_address = listen_address or _default_listen(config)
        self._logger = logger
        self._set_endpoints(_read_endpoints(config))
        self._base_url = self._read_base_url()
        self._unsubscribe = config.subscribe(self._reload)

    def close(self) -> None:
        """Stop following configuration changes (the backend calls it when it stops).

        The configuration may outlive the backend (a test's shared config): its
        subscription would otherwise keep the whole backend alive.
        """
        self._unsubscribe()

    def _set_endpoints(self, endpoints: tuple[DiscoveryEndpoint, ...]) -> None:
        self._endpoints = endpoints
        self._internal = _resolvers(endpoints, external=False)
        self._external = _resolvers(endpoints, external=True)

    def _read_base_url(self) -> str | None:
        base_url = self._config.get_optional_string("backend.baseUrl")
        return None if base_url is None else base_url.rstrip("/")

    def _reload(self) -> None:
        try:
            self._set_endpoints(_read_endpoints(self._config))
            self._base_url = self._read_base_url()
        except ConfigError as error:
            if self._logger is not None:
                self._logger.error(f"Keeping the previous discovery endpoints: {error}")

    def _internal_default(self, plugin_id: str) -> str:
        host, port = self._listen_address()
        return f"http://{display_host(host)}:{port}/api/{_encoded(plugin_id)}"

    def has_endpoint(self, plugin_id: str) -> bool:
        """Return whether a ``discovery.endpoints`` entry covers ``plugin_id`` (or ``*``)."""
        return any(endpoint.covers(plugin_id) for endpoint in self._endpoints)

    async def get_base_url(self, plugin_id: str) -> str:
        """Return the internal base URL of ``plugin_id``."""
        template = self._internal.get(plugin_id) or self._internal.get("*")
        if template is not None:
            return _resolve(template, plugin_id)
        return self._internal_default(plugin_id)

    async def get_external_base_url(self, plugin_id: str) -> str:
        """Return the external base URL of ``plugin_id``."""
        template = self._external.get(plugin_id) or self._external.get("*")
        if template is not None:
            return _resolve(template, plugin_id)
        if self._base_url is not None:
            return f"{self._base_url}/api/{_encoded(plugin_id)}"
        return self._internal_default(plugin_id)
