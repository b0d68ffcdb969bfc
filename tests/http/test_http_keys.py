"""JWS encoding and the rotating key store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from di_backend.http import KeyStore
from di_backend.http._jws import (
    JwsFormatError,
    b64url_encode,
    parse_compact,
    public_jwk,
    public_key_from_jwk,
    sign_compact,
    verify_signature,
)


def test_signed_tokens_verify_with_the_published_key() -> None:
    """A compact JWS verifies with the public key rebuilt from its JWK."""
    key = KeyStore().signing_key()
    token = sign_compact({"kid": key.kid}, {"sub": "x"}, key.private_key)
    parsed = parse_compact(token)
    assert parsed.payload == {"sub": "x"}
    jwk: dict[str, object] = dict(public_jwk(key.kid, key.public_key))
    assert verify_signature(parsed, public_key_from_jwk(jwk))


def test_signatures_of_other_keys_do_not_verify() -> None:
    """A token does not verify with another key."""
    store = KeyStore()
    token = sign_compact({}, {"sub": "x"}, store.signing_key().private_key)
    assert not verify_signature(parse_compact(token), KeyStore().signing_key().public_key)


def test_other_algorithms_are_refused() -> None:
    """A header claiming another algorithm never verifies (no 'alg: none' tricks)."""
    key = KeyStore().signing_key()
    _, payload, signature = sign_compact({}, {}, key.private_key).split(".")
    none_header = b64url_encode(b'{"alg":"none"}')
    forged = parse_compact(f"{none_header}.{payload}.{signature}")
    assert not verify_signature(forged, key.public_key)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!.e30.e30", "e30.W10.e30"])
def test_malformed_tokens_are_refused(token: str) -> None:
    """Strings that are not three base64url JSON-object parts are refused."""
    with pytest.raises(JwsFormatError):
        parse_compact(token)


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
    assert store.public_key(first.kid) is None
    assert store.public_key(second.kid) is not None
