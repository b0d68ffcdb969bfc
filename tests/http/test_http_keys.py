"""JSON Web Keys and tokens through PyJWT, and the rotating key store."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from http_support import b64url

from di_backend.http import KeyStore
from di_backend.http._jose import (
    TokenRejectedError,
    generate_key,
    key_from_jwk,
    public_jwk,
    sign_token,
    unverified_claims,
    unverified_header,
    verify_token,
)


def _claims(**extra: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": "x", "iat": now, "exp": now + 60, **extra}


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
def test_signed_tokens_verify_with_the_published_key(algorithm: str) -> None:
    """A token verifies with the key rebuilt from its published JWK, whose alg is the key's."""
    store = KeyStore(algorithm=algorithm)
    key = store.signing_key()
    token = sign_token(_claims(), typ="t", kid=key.kid, key=key.private_key)
    assert unverified_header(token) == {"typ": "t", "kid": key.kid, "alg": algorithm}
    jwk = store.public_keys()["keys"][0]
    assert jwk["alg"] == algorithm
    verification = key_from_jwk(dict(jwk))
    assert verification is not None
    assert verification.algorithm == algorithm
    assert verify_token(token, verification)["sub"] == "x"


def test_the_default_key_is_p256_for_es256() -> None:
    """Keys are ES256 (P-256) by default, as in Backstage."""
    jwk = KeyStore().signing_key().public_jwk
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("EC", "P-256", "ES256")


def test_signatures_of_other_keys_do_not_verify() -> None:
    """A token does not verify with another key."""
    key = KeyStore().signing_key()
    token = sign_token(_claims(), typ="t", kid=key.kid, key=key.private_key)
    other = key_from_jwk(dict(KeyStore().signing_key().public_jwk))
    assert other is not None
    with pytest.raises(TokenRejectedError, match="signature does not verify"):
        verify_token(token, other)


def test_the_algorithm_comes_from_the_key_not_the_header() -> None:
    """A header naming another algorithm (none, HS256 with the public key) never verifies."""
    key = KeyStore().signing_key()
    verification = key_from_jwk(dict(key.public_jwk))
    assert verification is not None
    _, payload, signature = sign_token(_claims(), typ="t", kid=key.kid, key=key.private_key).split(
        "."
    )
    for header in (b'{"alg":"none"}', b'{"alg":"EdDSA"}'):
        with pytest.raises(TokenRejectedError, match="algorithm is not ES256"):
            verify_token(f"{b64url(header)}.{payload}.{signature}", verification)
    hs256 = jwt.encode(_claims(), "a" * 32, algorithm="HS256")
    with pytest.raises(TokenRejectedError, match="algorithm is not ES256"):
        verify_token(hs256, verification)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "a"},
        {"kty": "EC", "crv": "P-256", "kid": "a", "x": "AA", "y": "AA"},
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "Ed25519", "kid": "a", "x": "AA", "alg": "ES256"},
    ],
)
def test_unusable_jwks_are_skipped(jwk: dict[str, object]) -> None:
    """Symmetric keys, broken keys, keys without kid or with an unfitting alg are skipped."""
    assert key_from_jwk(jwk) is None


def test_private_jwks_and_non_signing_keys_are_skipped() -> None:
    """A JWK carrying a private part or ``use: enc`` is never loaded for verification."""
    public = dict(KeyStore().signing_key().public_jwk)
    assert key_from_jwk({**public, "d": "AAAA"}) is None
    assert key_from_jwk({**public, "use": "enc"}) is None


def test_expiry_has_no_leeway() -> None:
    """A token one second past its expiry is refused."""
    key = generate_key()
    verification = key_from_jwk(dict(public_jwk("k", key)))
    assert verification is not None
    now = int(time.time())
    token = sign_token({"iat": now - 10, "exp": now - 1}, typ="t", kid="k", key=key)
    with pytest.raises(TokenRejectedError, match="the token expired"):
        verify_token(token, verification)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!.e30.e30", "e30.W10.e30"])
def test_malformed_tokens_have_no_claims(token: str) -> None:
    """Strings that are not three base64url JSON-object parts have no header or claims."""
    assert unverified_header(token) is None or unverified_claims(token) is None


def test_keys_rotate_and_old_public_keys_stay_published() -> None:
    """After key_duration a new key signs; the old one is published until its tokens expire."""
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    store = KeyStore(
        key_duration=timedelta(hours=1), token_ttl=timedelta(hours=1), clock=lambda: now[0]
    )
    first = store.signing_key()
    now[0] += timedelta(minutes=61)
    second = store.signing_key()
    assert second.kid != first.kid
    assert {k["kid"] for k in store.public_keys()["keys"]} == {first.kid, second.kid}
    now[0] += timedelta(minutes=60)
    assert store.public_jwk(first.kid) is None
    assert store.public_jwk(second.kid) is not None
