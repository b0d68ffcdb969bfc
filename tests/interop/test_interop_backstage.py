"""A di_backend backend and a real TypeScript Backstage backend call each other.

One deployment for the module (starting Backstage takes seconds): Backstage's
``caller`` and ``echo`` next to di_backend's ``pycaller`` and ``pyecho``, each
side's discovery pointing at the other. Every check runs both ways.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from interop_support import (
    GUEST,
    GUEST_GROUP,
    STATIC_TOKEN_BACKSTAGE,
    STATIC_TOKEN_PYTHON,
    Deployment,
    KeyFiles,
    deployment,
)


@pytest.fixture(name="both", scope="module")
def _both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Both backends, started once for the module and stopped after it."""
    with deployment(tmp_path_factory.mktemp("interop")) as running:
        yield running


def _get(base_url: str, path: str, token: str | None = None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=httpx.Timeout(15.0), trust_env=False) as http:
        return http.get(f"{base_url}{path}", headers=headers)


def _plugin_token(keys: KeyFiles, source: str, target: str, *, exp_offset: int) -> str:
    """A plugin token signed with ``keys`` as Backstage would sign it, expiring at now+offset."""
    now = int(time.time())
    return jwt.encode(
        {"sub": source, "aud": target, "iat": now - 3600, "exp": now + exp_offset},
        keys.key,
        algorithm="ES256",
        headers={"typ": "vnd.backstage.plugin", "kid": keys.key_id},
    )


class TestServiceTokens:
    def test_backstage_calls_a_python_plugin(self, both: Deployment) -> None:
        """Backstage's ``caller`` reaches ``pyecho`` with its ES256 token, seen as plugin:caller."""
        response = _get(both.backstage.base_url, "/api/caller/call/pyecho")
        assert response.status_code == 200, response.text
        assert response.json() == {"type": "service", "subject": "plugin:caller"}

    def test_a_python_plugin_calls_backstage(self, both: Deployment) -> None:
        """``pycaller`` reaches Backstage's ``echo``, which sees the principal plugin:pycaller."""
        response = _get(both.python.base_url, "/api/pycaller/call/echo")
        assert response.status_code == 200, response.text
        assert response.json() == {"type": "service", "subject": "plugin:pycaller"}

    def test_both_publish_the_same_kind_of_jwks(self, both: Deployment) -> None:
        """Both JWKS routes serve the P-256 ES256 key of their static key store."""
        path = "/.backstage/auth/v1/jwks.json"
        for base_url, plugin, kid in (
            (both.backstage.base_url, "caller", "backstage-interop-1"),
            (both.python.base_url, "pycaller", "python-interop-1"),
        ):
            response = _get(base_url, f"/api/{plugin}{path}")
            assert response.status_code == 200, response.text
            [key] = response.json()["keys"]
            assert (key["kty"], key["crv"], key["kid"]) == ("EC", "P-256", kid)
            assert key.get("alg", "ES256") == "ES256"


class TestUserTokens:
    def test_a_guest_token_is_a_user_at_the_python_plugin(self, both: Deployment) -> None:
        """A token from Backstage's auth backend is the guest user at ``pyecho``, with ownership."""
        response = _get(both.python.base_url, "/api/pyecho/whoami", both.guest_token())
        assert response.status_code == 200, response.text
        assert response.json() == {
            "type": "user",
            "subject": GUEST,
            "ownership": [GUEST, GUEST_GROUP],
        }

    def test_backstage_calls_python_on_behalf_of_the_user(self, both: Deployment) -> None:
        """Backstage's ``caller`` forwards the user: ``pyecho`` sees the guest, not the plugin."""
        response = _get(both.backstage.base_url, "/api/caller/call/pyecho", both.guest_token())
        assert response.status_code == 200, response.text
        assert response.json() == {
            "type": "user",
            "subject": GUEST,
            "ownership": [GUEST, GUEST_GROUP],
        }

    def test_python_calls_backstage_on_behalf_of_the_user(self, both: Deployment) -> None:
        """``pycaller`` forwards the user with ``obo``: Backstage's ``echo`` sees the guest."""
        response = _get(both.python.base_url, "/api/pycaller/call/echo", both.guest_token())
        assert response.status_code == 200, response.text
        assert response.json() == {
            "type": "user",
            "subject": GUEST,
            "ownership": [GUEST, GUEST_GROUP],
        }


class TestRefusals:
    @pytest.mark.parametrize("side", ["backstage", "python"])
    def test_a_forged_token_is_refused(self, both: Deployment, side: str, tmp_path: Path) -> None:
        """A plugin token signed by a key nobody publishes, under a published key id, is a 401."""
        from interop_support import make_keys

        forger = make_keys(tmp_path, "forger")
        if side == "backstage":
            kid, target, base_url = "python-interop-1", "echo", both.backstage.base_url
            source = "pycaller"
        else:
            kid, target, base_url = "backstage-interop-1", "pyecho", both.python.base_url
            source = "caller"
        forged = KeyFiles(kid, forger.private_file, forger.public_file, forger.key)
        response = _get(
            base_url,
            f"/api/{target}/whoami",
            _plugin_token(forged, source, target, exp_offset=600),
        )
        assert response.status_code == 401, response.text

    @pytest.mark.parametrize("side", ["backstage", "python"])
    def test_an_expired_token_is_refused(self, both: Deployment, side: str) -> None:
        """A genuine plugin token that expired a second ago is a 401 on either side."""
        if side == "backstage":
            token = _plugin_token(both.python_keys, "pycaller", "echo", exp_offset=-1)
            response = _get(both.backstage.base_url, "/api/echo/whoami", token)
        else:
            token = _plugin_token(both.backstage_keys, "caller", "pyecho", exp_offset=-1)
            response = _get(both.python.base_url, "/api/pyecho/whoami", token)
        assert response.status_code == 401, response.text

    def test_python_refuses_an_expired_token_with_a_message(self, both: Deployment) -> None:
        """di_backend's 401 for an expired Backstage token names the plugin and the expiry."""
        token = _plugin_token(both.backstage_keys, "caller", "pyecho", exp_offset=-1)
        response = _get(both.python.base_url, "/api/pyecho/whoami", token)
        assert "the token from plugin 'caller' expired at" in response.text


class TestExternalAccess:
    @pytest.mark.parametrize(
        ("side", "token"),
        [("backstage", STATIC_TOKEN_BACKSTAGE), ("python", STATIC_TOKEN_PYTHON)],
    )
    def test_a_static_token_reaches_either_side(
        self, both: Deployment, side: str, token: str
    ) -> None:
        """Each side's static external-access token gives the configured subject."""
        base_url, plugin = (
            (both.backstage.base_url, "echo")
            if side == "backstage"
            else (both.python.base_url, "pyecho")
        )
        response = _get(base_url, f"/api/{plugin}/whoami", token)
        assert response.status_code == 200, response.text
        assert response.json() == {"type": "service", "subject": "curl-access"}

    def test_a_static_token_of_one_side_is_refused_by_the_other(self, both: Deployment) -> None:
        """Backstage's static token means nothing to di_backend: a 401."""
        response = _get(both.python.base_url, "/api/pyecho/whoami", STATIC_TOKEN_BACKSTAGE)
        assert response.status_code == 401, response.text
