"""The backend's signing keys for service tokens, rotated and published as a JWKS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from di_backend.http._jose import PrivateKey, generate_key, key_algorithm, public_jwk

__all__ = ["KeyStore", "SigningKey"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key with its id and creation time.

    Attributes:
        kid: the key id put in token headers and the JWKS.
        private_key: the private key (P-256 for ES256, Ed25519 for EdDSA).
        created_at: when the key was generated.

    """

    kid: str
    private_key: PrivateKey
    created_at: datetime

    @property
    def algorithm(self) -> str:
        """The JWS algorithm the key signs with (``ES256`` or ``EdDSA``)."""
        return key_algorithm(self.private_key)

    @property
    def public_jwk(self) -> dict[str, str]:
        """The public JWK of the key, as published in the JWKS."""
        return public_jwk(self.kid, self.private_key)


class KeyStore:
    """In-memory signing keys of one backend (ES256 unless ``algorithm`` says ``EdDSA``).

    A key signs tokens for ``key_duration``; then a new key is generated. Old
    public keys stay published as long as tokens they signed can still be valid
    (``key_duration + token_ttl`` after their creation).
    """

    def __init__(
        self,
        *,
        key_duration: timedelta = timedelta(hours=1),
        token_ttl: timedelta = timedelta(hours=1),
        algorithm: str = "ES256",
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """Create an empty store; the first key is generated on first use."""
        self._algorithm = algorithm
        self._key_duration = key_duration
        self._token_ttl = token_ttl
        self._clock = clock
        self._keys: list[SigningKey] = []

    def signing_key(self) -> SigningKey:
        """Return the current key, generating a new one when it is too old."""
        now = self._clock()
        if not self._keys or now - self._keys[-1].created_at >= self._key_duration:
            self._keys.append(
                SigningKey(
                    kid=str(uuid.uuid4()),
                    private_key=generate_key(self._algorithm),
                    created_at=now,
                )
            )
        self._prune(now)
        return self._keys[-1]

    def _prune(self, now: datetime) -> None:
        keep = self._key_duration + self._token_ttl
        self._keys = [key for key in self._keys[:-1] if now - key.created_at < keep] + self._keys[
            -1:
        ]

    def public_jwk(self, kid: str) -> dict[str, str] | None:
        """Return the public JWK with id ``kid`` if this store holds it."""
        self._prune(self._clock())
        for key in self._keys:
            if key.kid == kid:
                return key.public_jwk
        return None

    def published_until(self, key: SigningKey) -> datetime:
        """Until when ``key``'s public key must stay published (its tokens may be valid)."""
        return key.created_at + self._key_duration + self._token_ttl

    def public_keys(self) -> dict[str, list[dict[str, str]]]:
        """Return the JWKS: ``{"keys": [...]}`` with every key that may still verify."""
        self.signing_key()
        return {"keys": [key.public_jwk for key in self._keys]}
