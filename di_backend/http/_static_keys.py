"""``backend.auth.pluginKeyStore.type: static``: signing keys from PEM files.

Every replica reads the same files, so each verifies every other's tokens
without a database. The first key signs; every key's public key is
published. As Backstage reads them: ``static.keys[]`` with ``publicKeyFile``,
``privateKeyFile`` (needed for the first key only), ``keyId`` and
``algorithm`` (``ES256``, the default, for P-256 keys; ``EdDSA`` for
Ed25519 keys: unlike Backstage, di_backend also signs with those).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ec import (
    SECP256R1,
    EllipticCurvePrivateKey,
    EllipticCurvePublicKey,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from di_backend.errors import ConfigError, ConfigKeyError
from di_backend.http._jose import SIGNING_ALGORITHMS, PrivateKey, public_jwk
from di_backend.http._keys import KeyStore, SigningKey
from di_backend.services import ConfigService

__all__ = ["StaticKeyStore", "read_static_key_store"]

_KEY = "backend.auth.pluginKeyStore.static.keys"


class StaticKeyStore(KeyStore):
    """Fixed keys: the first signs, all verify and are published; nothing rotates."""

    def __init__(self, signing: SigningKey, public: list[dict[str, str]]) -> None:
        super().__init__()
        self._signing = signing
        self._public = public

    def signing_key(self) -> SigningKey:
        """The first configured key."""
        return self._signing

    def public_jwk(self, kid: str) -> dict[str, str] | None:
        """The configured public key with id ``kid``."""
        return next((jwk for jwk in self._public if jwk["kid"] == kid), None)

    def public_keys(self) -> dict[str, list[dict[str, str]]]:
        """Every configured public key."""
        return {"keys": list(self._public)}


_KEY_KINDS = {"ES256": "a P-256 (ES256)", "EdDSA": "an Ed25519 (EdDSA)"}


def _fits(key: object, algorithm: str) -> bool:
    if algorithm == "EdDSA":
        return isinstance(key, Ed25519PrivateKey | Ed25519PublicKey)
    if isinstance(key, EllipticCurvePrivateKey | EllipticCurvePublicKey):
        return isinstance(key.curve, SECP256R1)
    return False


def _read(path_value: str, where: str) -> bytes:
    try:
        return Path(path_value).read_bytes()
    except OSError as error:
        msg = f"Unable to read the key file '{path_value}' (at '{where}'): {error.strerror}"
        raise ConfigError(msg) from error


def read_static_key_store(config: ConfigService) -> StaticKeyStore:
    """Read ``backend.auth.pluginKeyStore.static.keys``.

    Raises:
        ConfigError: a missing or empty list, a missing field, an unreadable file,
            a file that is not a PEM key of the algorithm, or an algorithm other than
            ES256 and EdDSA; each names the key and the file.
    """
    entries = config.get_optional_config_array(_KEY) if config.has(_KEY) else None
    if not entries:
        msg = (
            f"Missing required config value at '{_KEY}': the static key store needs at "
            "least one key (publicKeyFile, privateKeyFile, keyId)"
        )
        raise ConfigKeyError(msg)
    public: list[dict[str, str]] = []
    signing: SigningKey | None = None
    for index, entry in enumerate(entries):
        where = f"{_KEY}[{index}]"
        algorithm = entry.get_optional_string("algorithm") or "ES256"
        if algorithm not in SIGNING_ALGORITHMS:
            msg = (
                f"Unsupported algorithm '{algorithm}' at '{where}.algorithm', expected one of "
                + ", ".join(f"'{name}'" for name in SIGNING_ALGORITHMS)
            )
            raise ConfigError(msg)
        kind = _KEY_KINDS[algorithm]
        kid = entry.get_string("keyId")
        public_file = entry.get_string("publicKeyFile")
        public_pem = _read(public_file, f"{where}.publicKeyFile")
        try:
            public_key = load_pem_public_key(public_pem)
        except ValueError as error:
            msg = f"The key file '{public_file}' (at '{where}.publicKeyFile') is not a PEM key"
            raise ConfigError(msg) from error
        if not _fits(public_key, algorithm) or not isinstance(
            public_key, Ed25519PublicKey | EllipticCurvePublicKey
        ):
            msg = (
                f"The key file '{public_file}' (at '{where}.publicKeyFile') is not "
                f"{kind} public key, as algorithm '{algorithm}' needs"
            )
            raise ConfigError(msg)
        public.append(public_jwk(kid, public_key))
        if index == 0:
            private_file = entry.get_string("privateKeyFile")
            private_pem = _read(private_file, f"{where}.privateKeyFile")
            try:
                private_key = load_pem_private_key(private_pem, password=None)
            except (ValueError, TypeError) as error:
                msg = (
                    f"The key file '{private_file}' (at '{where}.privateKeyFile') is not an "
                    "unencrypted PEM private key"
                )
                raise ConfigError(msg) from error
            if not _fits(private_key, algorithm) or not isinstance(
                private_key, Ed25519PrivateKey | EllipticCurvePrivateKey
            ):
                msg = (
                    f"The key file '{private_file}' (at '{where}.privateKeyFile') is not "
                    f"{kind} private key, as algorithm '{algorithm}' needs"
                )
                raise ConfigError(msg)
            signing_private: PrivateKey = private_key
            signing = SigningKey(kid=kid, private_key=signing_private, created_at=datetime.now(UTC))
    assert signing is not None
    return StaticKeyStore(signing, public)
