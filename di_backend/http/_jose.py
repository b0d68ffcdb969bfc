"""JSON Web Tokens and Keys through PyJWT: the one module that imports it.

Signing keys are ES256 (P-256, Backstage's default) or EdDSA (Ed25519).
Verification keys come from any JWKS; the algorithm a key verifies is taken
from the key itself (its ``kty``/``crv``, and its ``alg`` when it names one
that fits), never from the unchecked token header, and symmetric keys are
never loaded from a JWKS.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeAlias, cast

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import (
    SECP256R1,
    EllipticCurvePrivateKey,
    EllipticCurvePublicKey,
    generate_private_key,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

__all__ = [
    "SIGNING_ALGORITHMS",
    "PrivateKey",
    "PublicKey",
    "TokenRejectedError",
    "VerificationKey",
    "generate_key",
    "json_object",
    "key_from_jwk",
    "public_jwk",
    "sign_raw",
    "sign_token",
    "unverified_claims",
    "unverified_header",
    "verify_hs256",
    "verify_token",
]

PrivateKey: TypeAlias = EllipticCurvePrivateKey | Ed25519PrivateKey
"""A key this package signs with."""

PublicKey: TypeAlias = EllipticCurvePublicKey | Ed25519PublicKey
"""The public half of a :data:`PrivateKey`."""

SIGNING_ALGORITHMS = ("ES256", "EdDSA")
"""The algorithms this package signs with; ES256 is the default, as in Backstage."""

# The asymmetric algorithms a JWK may verify, by key type (and curve).
_ALGORITHMS_BY_KEY: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("EC", "P-256"): ("ES256",),
    ("EC", "P-384"): ("ES384",),
    ("EC", "P-521"): ("ES512",),
    ("OKP", "Ed25519"): ("EdDSA",),
    ("RSA", None): ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
}
_MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, the last second datetime can hold


class TokenRejectedError(ValueError):
    """A token did not verify; the message says why in a few words."""


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key with its id and the one algorithm it verifies.

    Attributes:
        kid: the key id.
        algorithm: the JWS algorithm, derived from the key.
        key: the key object PyJWT verifies with.

    """

    kid: str
    algorithm: str
    key: jwt.PyJWK


def json_object(value: object) -> dict[str, object] | None:
    """Return ``value`` as a ``dict[str, object]`` if it is a JSON object, else ``None``."""
    if not isinstance(value, dict):
        return None
    items = cast("dict[object, object]", value)
    return {str(key): item for key, item in items.items()}


def generate_key(algorithm: str = "ES256") -> PrivateKey:
    """Return a new private key for ``algorithm`` (``ES256`` or ``EdDSA``)."""
    if algorithm == "EdDSA":
        return Ed25519PrivateKey.generate()
    return generate_private_key(SECP256R1())


def key_algorithm(key: PrivateKey) -> str:
    """The algorithm a private key signs with."""
    return "EdDSA" if isinstance(key, Ed25519PrivateKey) else "ES256"


def public_jwk(kid: str, key: PrivateKey | PublicKey) -> dict[str, str]:
    """Return the public JWK of ``key`` with key id ``kid`` (and its ``alg``, ``use: sig``)."""
    public = key if isinstance(key, PublicKey) else key.public_key()
    if isinstance(public, Ed25519PublicKey):
        fields = cast("dict[str, str]", OKPAlgorithm.to_jwk(public, as_dict=True))
        algorithm = "EdDSA"
    else:
        fields = cast("dict[str, str]", ECAlgorithm.to_jwk(public, as_dict=True))
        algorithm = "ES256"
    return {**fields, "kid": kid, "alg": algorithm, "use": "sig"}


def key_from_jwk(jwk: dict[str, object]) -> VerificationKey | None:
    """Load a public verification key from a JWK; ``None`` when it is unusable.

    Unusable: no ``kid``, a symmetric or unknown key type, a private key, an
    ``alg`` that does not fit the key, or ``use`` other than ``sig``.
    """
    kid = jwk.get("kid")
    kty = jwk.get("kty")
    crv = jwk.get("crv") if kty != "RSA" else None
    allowed = _ALGORITHMS_BY_KEY.get((str(kty), None if crv is None else str(crv)))
    if not isinstance(kid, str) or not kid or allowed is None or "d" in jwk:
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    alg = jwk.get("alg")
    if alg is None:
        algorithm = allowed[0]
    elif isinstance(alg, str) and alg in allowed:
        algorithm = alg
    else:
        return None
    try:
        key = jwt.PyJWK(dict(jwk), algorithm=algorithm)
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    return VerificationKey(kid=kid, algorithm=algorithm, key=key)


def sign_token(claims: dict[str, object], *, typ: str, kid: str, key: PrivateKey) -> str:
    """Return a compact JWT of ``claims`` with header ``typ``, ``kid`` and the key's ``alg``."""
    return jwt.encode(claims, key, algorithm=key_algorithm(key), headers={"typ": typ, "kid": kid})


def _b64_json(segment: str) -> dict[str, object] | None:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value: object = json.loads(raw, parse_constant=_no_constant)
    except (binascii.Error, ValueError):
        return None
    return json_object(value)


def _no_constant(name: str) -> object:
    msg = f"{name} is not a JSON number"
    raise ValueError(msg)


def unverified_header(token: str) -> dict[str, object] | None:
    """The protected header of a compact JWS, not verified; ``None`` if it is not one."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    return _b64_json(parts[0])


def unverified_claims(token: str) -> dict[str, object] | None:
    """The claims of a compact JWT, not verified; ``None`` if it is not one."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    return _b64_json(parts[1])


def expiry(claims: dict[str, object]) -> datetime | None:
    """The ``exp`` claim as a datetime, ``None`` when absent or out of range."""
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    if not math.isfinite(exp) or not 0 <= exp <= _MAX_EPOCH:
        return None
    return datetime.fromtimestamp(exp, UTC)


def verify_token(
    token: str,
    key: VerificationKey,
    *,
    audience: str | list[str] | None = None,
    issuer: str | list[str] | None = None,
    required: tuple[str, ...] = ("iat", "exp"),
) -> dict[str, object]:
    """Verify ``token``'s signature with ``key`` and its claims, with no clock leeway.

    The header's ``alg`` must be the key's algorithm. ``exp`` (and ``nbf`` when
    present) are checked against the current time; ``aud`` must contain
    ``audience`` when one is given.

    Raises:
        TokenRejectedError: the reason, e.g. ``the token expired``.

    """
    if unverified_claims(token) is None:
        raise TokenRejectedError("the token is not a JSON Web Token")
    try:
        claims = cast(
            "dict[str, object]",
            jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=audience,
                issuer=issuer,
                leeway=0,
                options={"require": list(required), "verify_aud": audience is not None},
            ),
        )
    except jwt.ExpiredSignatureError as error:
        raise TokenRejectedError("the token expired") from error
    except jwt.ImmatureSignatureError as error:
        raise TokenRejectedError("the token is not valid yet") from error
    except jwt.InvalidAudienceError as error:
        raise TokenRejectedError(f"the token is not meant for audience {audience!r}") from error
    except jwt.InvalidIssuerError as error:
        raise TokenRejectedError("the token has another issuer") from error
    except jwt.InvalidAlgorithmError as error:
        raise TokenRejectedError(
            f"the token's algorithm is not {key.algorithm}, the algorithm of key '{key.kid}'"
        ) from error
    except jwt.InvalidSignatureError as error:
        raise TokenRejectedError(f"the signature does not verify with key '{key.kid}'") from error
    except jwt.MissingRequiredClaimError as error:
        raise TokenRejectedError(f"the claim '{error.claim}' is missing") from error
    except jwt.PyJWTError as error:
        raise TokenRejectedError(str(error).rstrip(".")) from error
    if "exp" in claims and expiry(claims) is None:
        raise TokenRejectedError("the expiry ('exp') is out of range")
    return claims


def verify_hs256(token: str, secret: bytes) -> dict[str, object]:
    """Verify an HS256 token (Backstage's ``legacy`` external access) with ``secret``.

    Raises:
        TokenRejectedError: the signature or the expiry does not verify.

    """
    try:
        return cast(
            "dict[str, object]",
            jwt.decode(
                token, secret, algorithms=["HS256"], leeway=0, options={"verify_aud": False}
            ),
        )
    except jwt.PyJWTError as error:
        raise TokenRejectedError(str(error).rstrip(".")) from error


def sign_raw(signing_input: bytes, key: EllipticCurvePrivateKey) -> bytes:
    """The raw ES256 signature (``r || s``) of ``signing_input``, as a JWS carries it.

    For callers that must control the exact header and payload bytes (the test
    issuer of Backstage-format user tokens).
    """
    return ECAlgorithm(ECAlgorithm.SHA256).sign(signing_input, key)
