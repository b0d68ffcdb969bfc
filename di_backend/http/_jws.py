"""Compact JWS with Ed25519 (``alg: EdDSA``) and OKP JSON Web Keys."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "JwsFormatError",
    "ParsedJws",
    "b64url_decode",
    "b64url_encode",
    "json_object",
    "parse_compact",
    "public_jwk",
    "public_key_from_jwk",
    "sign_compact",
    "verify_signature",
]

ALGORITHM = "EdDSA"
"""The JWS algorithm of every token this package signs."""


class JwsFormatError(ValueError):
    """Raised when a string is not a well-formed compact JWS or JWK."""


def json_object(value: object) -> dict[str, object] | None:
    """Return ``value`` as a ``dict[str, object]`` if it is a JSON object, else ``None``."""
    if not isinstance(value, dict):
        return None
    items = cast("dict[object, object]", value)
    return {str(key): item for key, item in items.items()}


def b64url_encode(data: bytes) -> str:
    """Encode ``data`` as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url.

    Raises:
        JwsFormatError: ``text`` is not base64url.

    """
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        msg = "not valid base64url"
        raise JwsFormatError(msg) from error


def _no_constant(name: str) -> object:
    """JSON's non-standard ``NaN`` and ``Infinity`` are not allowed in a token."""
    msg = f"{name} is not a JSON number"
    raise ValueError(msg)


def _json_segment(text: str, what: str) -> dict[str, object]:
    try:
        value: object = json.loads(b64url_decode(text), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as error:
        msg = f"the {what} is not JSON"
        raise JwsFormatError(msg) from error
    obj = json_object(value)
    if obj is None:
        msg = f"the {what} is not a JSON object"
        raise JwsFormatError(msg)
    return obj


@dataclass(frozen=True, slots=True)
class ParsedJws:
    """A compact JWS split into its parts; nothing is verified yet.

    Attributes:
        header: the protected header.
        payload: the claims.
        signing_input: ``<header>.<payload>`` as bytes.
        signature: the raw signature.

    """

    header: dict[str, object]
    payload: dict[str, object]
    signing_input: bytes
    signature: bytes


def sign_compact(
    header: dict[str, object], payload: dict[str, object], key: Ed25519PrivateKey
) -> str:
    """Return ``header.payload.signature`` signed with ``key`` (``alg`` is set to EdDSA)."""
    protected = b64url_encode(
        json.dumps({**header, "alg": ALGORITHM}, separators=(",", ":")).encode()
    )
    body = b64url_encode(json.dumps(payload, separators=(",", ":")).encode())
    signing_input = f"{protected}.{body}".encode("ascii")
    return f"{protected}.{body}.{b64url_encode(key.sign(signing_input))}"


def parse_compact(token: str) -> ParsedJws:
    """Split a compact JWS without verifying it.

    Raises:
        JwsFormatError: ``token`` does not have three base64url parts with JSON objects.

    """
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        msg = "a token must have three non-empty parts separated by '.'"
        raise JwsFormatError(msg)
    header = _json_segment(parts[0], "header")
    payload = _json_segment(parts[1], "payload")
    return ParsedJws(
        header=header,
        payload=payload,
        signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
        signature=b64url_decode(parts[2]),
    )


def verify_signature(parsed: ParsedJws, key: Ed25519PublicKey) -> bool:
    """Return whether ``parsed`` is signed by ``key`` with EdDSA."""
    if parsed.header.get("alg") != ALGORITHM:
        return False
    try:
        key.verify(parsed.signature, parsed.signing_input)
    except InvalidSignature:
        return False
    return True


def public_jwk(kid: str, key: Ed25519PublicKey) -> dict[str, str]:
    """Return the public JWK of ``key`` with key id ``kid``."""
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(raw),
        "kid": kid,
        "alg": ALGORITHM,
        "use": "sig",
    }


def public_key_from_jwk(jwk: dict[str, object]) -> Ed25519PublicKey:
    """Load an Ed25519 public key from a JWK.

    Raises:
        JwsFormatError: the JWK is not an Ed25519 OKP key.

    """
    x = jwk.get("x")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(x, str):
        msg = "the key is not an Ed25519 OKP JSON Web Key"
        raise JwsFormatError(msg)
    raw = b64url_decode(x)
    if len(raw) != 32:
        msg = "the Ed25519 key must be 32 bytes"
        raise JwsFormatError(msg)
    return Ed25519PublicKey.from_public_bytes(raw)
