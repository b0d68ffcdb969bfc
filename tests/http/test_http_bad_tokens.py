"""Every kind of bad token is a 401 with its reason and a log line; none reaches the route."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from http_support import (
    BackendMaker,
    MiniBackend,
    b64url,
    fetch,
    make_backend_fixture,  # noqa: F401  # pyright: ignore[reportUnusedImport]
    serve_auth,
)
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

from di_backend.http._user_tokens import create_limited_user_token
from di_backend.testing import UserTokenIssuer

PLUGIN_TYP = "vnd.backstage.plugin"


def _claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {"sub": "ping", "aud": "pong", "iat": now, "exp": now + 600}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(backend: MiniBackend, claims: dict[str, object], **header: object) -> str:
    key = backend.keys.signing_key()
    headers: dict[str, object] = {"typ": PLUGIN_TYP, "kid": key.kid, **header}
    return jwt.encode(claims, key.private_key, algorithm="ES256", headers=headers)


def _tampered(backend: MiniBackend) -> str:
    header, _, signature = _signed(backend, _claims()).split(".")
    forged = b64url(json.dumps(_claims(sub="admin")).encode())
    return f"{header}.{forged}.{signature}"


def _hs256(backend: MiniBackend) -> str:
    # The classic confusion attack: HS256 keyed with the public key's bytes.
    public = backend.keys.signing_key().public_jwk
    return jwt.encode(
        _claims(),
        public["x"].encode(),
        algorithm="HS256",
        headers={"typ": PLUGIN_TYP, "kid": backend.keys.signing_key().kid},
    )


def _alg_none(backend: MiniBackend) -> str:
    header = {"typ": PLUGIN_TYP, "kid": backend.keys.signing_key().kid, "alg": "none"}
    body = json.dumps(_claims()).encode()
    return f"{b64url(json.dumps(header).encode())}.{b64url(body)}.{b64url(b'x')}"


def _other_key_same_kid(backend: MiniBackend) -> str:
    rogue = ec.generate_private_key(ec.SECP256R1())
    kid = backend.keys.signing_key().kid
    return jwt.encode(_claims(), rogue, algorithm="ES256", headers={"typ": PLUGIN_TYP, "kid": kid})


def _eddsa_same_kid(backend: MiniBackend) -> str:
    rogue = ed25519.Ed25519PrivateKey.generate()
    kid = backend.keys.signing_key().kid
    return jwt.encode(_claims(), rogue, algorithm="EdDSA", headers={"typ": PLUGIN_TYP, "kid": kid})


def _unknown_kid(backend: MiniBackend) -> str:
    rogue = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(
        _claims(), rogue, algorithm="ES256", headers={"typ": PLUGIN_TYP, "kid": "nobody"}
    )


def _bad_obo(backend: MiniBackend) -> str:
    serve_auth(backend, UserTokenIssuer())  # the auth backend publishes its key ...
    forged_user = UserTokenIssuer().issue("user:default/admin")  # ... this is another one
    limited, _ = create_limited_user_token(forged_user)
    return _signed(backend, _claims(obo=limited))


CASES: dict[str, tuple[Callable[[MiniBackend], str], str]] = {
    "tampered": (_tampered, "does not verify: the signature does not verify"),
    "hs256-with-the-public-key": (_hs256, "the token's algorithm is not ES256"),
    "alg-none": (_alg_none, "the token's algorithm is not ES256"),
    "another-key-same-kid": (_other_key_same_kid, "the signature does not verify"),
    "eddsa-same-kid": (_eddsa_same_kid, "the token's algorithm is not ES256"),
    "unknown-kid": (_unknown_kid, "key 'nobody' of plugin 'ping' is not published"),
    "expired": (
        lambda b: _signed(b, _claims(iat=int(time.time()) - 700, exp=int(time.time()) - 1)),
        "the token from plugin 'ping' expired at",
    ),
    "not-yet-valid": (
        lambda b: _signed(b, _claims(nbf=int(time.time()) + 600)),
        "the token is not valid yet",
    ),
    "another-audience": (lambda b: _signed(b, _claims(aud="other")), "meant for plugin 'other'"),
    "prefixed-subject": (lambda b: _signed(b, _claims(sub="plugin:ping")), "forbidden subject"),
    "spaced-subject": (lambda b: _signed(b, _claims(sub="a b")), "forbidden subject format"),
    "newline-subject": (lambda b: _signed(b, _claims(sub="ping\n")), "forbidden subject format"),
    "kelvin-subject": (lambda b: _signed(b, _claims(sub="\u212a")), "forbidden subject format"),
    "no-subject": (lambda b: _signed(b, _claims(sub=None)), "missing subject"),
    "no-iat": (lambda b: _signed(b, _claims(iat=None)), "the claim 'iat' is missing"),
    "obo-that-does-not-verify": (_bad_obo, "Invalid user token in plugin token obo claim"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_bad_token_is_a_401_that_never_reaches_the_route(
    make_backend: BackendMaker, case: str
) -> None:
    """The bad token gets 401 with its reason, the receiver logs it, the route never runs."""
    backend = await make_backend()
    backend.add_plugin("ping")
    pong = backend.add_plugin("pong")
    reached: list[str] = []

    async def whoami(request: Request) -> JSONResponse:
        reached.append("yes")
        credentials = await pong.http_auth.credentials(request, allow=["service", "user"])
        return JSONResponse({"subject": credentials.principal.subject})

    pong.router.use(Router([Route("/whoami", whoami)]))
    make, reason = CASES[case]
    token = make(backend)
    response = await fetch(backend.base_url, "/api/pong/whoami", token=token)
    assert response.status_code == 401, response.text
    assert reason in response.json()["error"]["message"]
    assert reached == []
    warnings = backend.logger.messages("warn")
    assert any(m.startswith("Refused a token sent to plugin 'pong'") for m in warnings), warnings
    assert any(reason in m for m in warnings), warnings


async def test_a_flood_of_bad_tokens_is_logged_once(make_backend: BackendMaker) -> None:
    """A hundred tokens refused for the same reason give one log line, not a hundred."""
    backend = await make_backend()
    pong = backend.add_plugin("pong")
    token = _signed(backend, _claims(aud="other"))
    for _ in range(100):
        with pytest.raises(Exception, match="meant for plugin 'other'"):
            await pong.auth.authenticate(token)
    assert len(backend.logger.messages("warn")) == 1
