"""Host discovery: default URLs from the listen address, endpoints, external URLs."""

from __future__ import annotations

import re

import pytest

from di_backend.config import ObservableConfig
from di_backend.errors import ConfigError
from di_backend.http import HostDiscovery
from di_backend.services import JsonValue


def _discovery(data: dict[str, JsonValue], port: int | None = None) -> HostDiscovery:
    config = ObservableConfig(data)
    if port is None:
        return HostDiscovery(config)
    return HostDiscovery(config, listen_address=lambda: ("127.0.0.1", port))


class TestDefaults:
    @pytest.mark.parametrize(
        ("listen", "expected"),
        [
            (None, "http://localhost:7007/api/todo"),
            ({"host": "", "port": 7008}, "http://localhost:7008/api/todo"),
            ({"host": "::", "port": 80}, "http://localhost:80/api/todo"),
            ({"host": "0.0.0.0", "port": 80}, "http://127.0.0.1:80/api/todo"),
            ({"host": "::1", "port": 80}, "http://[::1]:80/api/todo"),
            ("example.internal:9000", "http://example.internal:9000/api/todo"),
            ("9001", "http://localhost:9001/api/todo"),
        ],
    )
    async def test_internal_urls_follow_backend_listen(
        self, listen: JsonValue, expected: str
    ) -> None:
        """Without endpoints the internal URL is built from backend.listen."""
        data: dict[str, JsonValue] = {} if listen is None else {"backend": {"listen": listen}}
        assert await _discovery(data).get_base_url("todo") == expected

    async def test_the_real_port_wins_over_port_zero(self) -> None:
        """With a listen address callback the real (chosen) port is used."""
        discovery = _discovery({"backend": {"listen": {"port": 0}}}, port=43210)
        assert await discovery.get_base_url("todo") == "http://127.0.0.1:43210/api/todo"

    async def test_external_urls_come_from_base_url(self) -> None:
        """The external URL is backend.baseUrl (trailing '/' removed) plus /api/<id>."""
        discovery = _discovery({"backend": {"baseUrl": "https://portal.example.com/"}})
        assert (
            await discovery.get_external_base_url("todo") == "https://portal.example.com/api/todo"
        )

    async def test_external_urls_fall_back_to_internal_ones(self) -> None:
        """Without backend.baseUrl the external URL is the internal one."""
        discovery = _discovery({}, port=5000)
        assert await discovery.get_external_base_url("todo") == "http://127.0.0.1:5000/api/todo"


class TestPrecedence:
    async def test_a_named_plugin_beats_the_wildcard(self) -> None:
        """An endpoint listing the plugin wins over an earlier or later ``*`` endpoint."""
        for order in (1, -1):
            both: list[JsonValue] = [
                {"target": "http://star/api/{{pluginId}}", "plugins": ["*"]},
                {"target": "http://named/api/{{pluginId}}", "plugins": ["todo"]},
            ]
            endpoints = both[::order]
            discovery = _discovery({"discovery": {"endpoints": endpoints}})
            assert await discovery.get_base_url("todo") == "http://named/api/todo"
            assert await discovery.get_base_url("other") == "http://star/api/other"

    async def test_the_last_matching_endpoint_wins(self) -> None:
        """Among endpoints listing the same plugin, the last one is used, as in Backstage."""
        endpoints: list[JsonValue] = [
            {"target": "http://first/api/{{pluginId}}", "plugins": ["todo"]},
            {"target": "http://second/api/{{pluginId}}", "plugins": ["todo"]},
            {"target": "http://star-1/{{pluginId}}", "plugins": ["*"]},
            {"target": "http://star-2/{{pluginId}}", "plugins": ["*"]},
        ]
        discovery = _discovery({"discovery": {"endpoints": endpoints}})
        assert await discovery.get_base_url("todo") == "http://second/api/todo"
        assert await discovery.get_external_base_url("todo") == "http://second/api/todo"
        assert await discovery.get_base_url("x") == "http://star-2/x"

    async def test_plugin_ids_are_url_encoded(self) -> None:
        """The plugin id goes into targets and default URLs as encodeURIComponent writes it."""
        endpoints: list[JsonValue] = [{"target": "http://h/api/{{pluginId}}", "plugins": ["*"]}]
        discovery = _discovery({"discovery": {"endpoints": endpoints}})
        assert await discovery.get_base_url("a b/c") == "http://h/api/a%20b%2Fc"
        plain = _discovery({}, port=1)
        assert await plain.get_base_url("a/b") == "http://127.0.0.1:1/api/a%2Fb"


class TestEndpoints:
    async def test_listed_plugins_go_to_the_target(self) -> None:
        """A string target with {{pluginId}} serves the listed plugins, others stay local."""
        discovery = _discovery(
            {
                "discovery": {
                    "endpoints": [
                        {"target": "http://other:1234/api/{{ pluginId }}", "plugins": ["catalog"]}
                    ]
                }
            },
            port=7007,
        )
        assert await discovery.get_base_url("catalog") == "http://other:1234/api/catalog"
        assert await discovery.get_external_base_url("catalog") == "http://other:1234/api/catalog"
        assert await discovery.get_base_url("todo") == "http://127.0.0.1:7007/api/todo"

    async def test_internal_and_external_targets_differ(self) -> None:
        """An object target gives separate internal and external URLs."""
        discovery = _discovery(
            {
                "discovery": {
                    "endpoints": [
                        {
                            "target": {
                                "internal": "http://catalog.svc/api/{{pluginId}}",
                                "external": "https://catalog.example.com/api/{{pluginId}}",
                            },
                            "plugins": ["*"],
                        }
                    ]
                }
            }
        )
        assert await discovery.get_base_url("x") == "http://catalog.svc/api/x"
        assert await discovery.get_external_base_url("x") == "https://catalog.example.com/api/x"

    async def test_endpoints_follow_config_changes(self) -> None:
        """Updating the configuration re-reads the endpoints."""
        config = ObservableConfig({})
        discovery = HostDiscovery(config, listen_address=lambda: ("", 7007))
        assert await discovery.get_base_url("todo") == "http://localhost:7007/api/todo"
        config.update(
            {
                "discovery": {
                    "endpoints": [{"target": "http://b:1/{{pluginId}}", "plugins": ["todo"]}]
                }
            }
        )
        assert await discovery.get_base_url("todo") == "http://b:1/todo"

    @pytest.mark.parametrize(
        ("endpoint", "message"),
        [
            (
                {"target": "http://x/{{pluginId}}"},
                "Invalid config at 'discovery.endpoints[0].plugins', expected a list of plugin ids",
            ),
            (
                {"target": 5, "plugins": ["a"]},
                "Invalid config at 'discovery.endpoints[0].target', expected a URL string, got 5",
            ),
            (
                {"target": {"external": "http+srv://x/{{pluginId}}"}, "plugins": ["a"]},
                "SRV resolver URLs cannot be used in the target for external endpoints "
                "(at 'discovery.endpoints[0].target.external')",
            ),
            (
                {"target": "http+srv://x/{{pluginId}}", "plugins": ["a"]},
                "SRV resolver URLs are not supported by di_backend yet",
            ),
        ],
        ids=["no-plugins", "bad-target", "srv-external", "srv-internal"],
    )
    def test_bad_endpoints_are_refused(self, endpoint: JsonValue, message: str) -> None:
        """Malformed endpoints fail when discovery is created, naming the config key."""
        with pytest.raises(ConfigError, match=re.escape(message)):
            _discovery({"discovery": {"endpoints": [endpoint]}})
