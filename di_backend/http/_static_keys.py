"""``backend.auth.pluginKeyStore.type: static``: signing keys from PEM files.

Every replica reads the same files, so each verifies every other's tokens
without a database. The first key signs; every key's public key is
published. As Backstage reads them: ``static.keys[]`` with ``publicKeyFile``,
``privateKeyFile`` (needed for the first key only), ``keyId`` and
``algorithm``. di_backend signs with EdDSA (Ed25519) keys, so ``algorithm``
must be ``EdDSA`` for now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from di_backend.errors import ConfigError, ConfigKeyError
from di_backend.http._jws import ALGORITHM, public_jwk
from di_backend.http._keys import KeyStore, SigningKey
from di_backend.services import ConfigService

__all__ = ["StaticKeyStore", "read_static_key_store"]

_KEY = "backend.auth.pluginKeyStore.static.keys"


class StaticKeyStore(KeyStore):
    """Fixed keys: the first signs, all verify and are published; nothing rotates."""

    def __init__(self, signing: SigningKey, public: list[tuple[str, Ed25519PublicKey]]) -> None:
        super().__init__()
        self._signing = signing
        self._public = public

    def signing_key(self) -> SigningKey:
        """The first configured key."""
        return self._signing

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The configured public key with id ``kid``."""
        return next((key for key_id, key in self._public if key_id == kid), None)

    def public_keys(self) -> dict[str, list[dict[str, str]]]:
        """Every configured public key."""
        return {"keys": [public_jwk(kid, key) for kid, key in self._public]}


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
            a file that is not an Ed25519 PEM key, or an algorithm other than EdDSA;
            each names the key and the file.
    """
    entries = config.get_optional_config_array(_KEY) if config.has(_KEY) else None
    if not entries:
        msg = (
            f"Missing required config value at '{_KEY}': the static key store needs at "
            "least one key (publicKeyFile, privateKeyFile, keyId)"
        )
        raise ConfigKeyError(msg)
    public: list[tuple[str, Ed25519PublicKey]] = []
    signing: SigningKey | None = None
    for index, entry in enumerate(entries):
        where = f"{_KEY}[{index}]"
        algorithm = entry.get_optional_string("algorithm") or "ES256"
        if algorithm != ALGORITHM:
            msg = (
                f"Unsupported algorithm '{algorithm}' at '{where}.algorithm': di_backend signs "
                f"service tokens with {ALGORITHM} (Ed25519) keys so far; set algorithm: "
                f"{ALGORITHM} and use Ed25519 key files"
            )
            raise ConfigError(msg)
        kid = entry.get_string("keyId")
        public_file = entry.get_string("publicKeyFile")
        public_pem = _read(public_file, f"{where}.publicKeyFile")
        try:
            public_key = load_pem_public_key(public_pem)
        except ValueError as error:
            msg = f"The key file '{public_file}' (at '{where}.publicKeyFile') is not a PEM key"
            raise ConfigError(msg) from error
        if not isinstance(public_key, Ed25519PublicKey):
            msg = (
                f"The key file '{public_file}' (at '{where}.publicKeyFile') is not an "
                "Ed25519 public key"
            )
            raise ConfigError(msg)
        public.append((kid, public_key))
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
            if not isinstance(private_key, Ed25519PrivateKey):
                msg = (
                    f"The key file '{private_file}' (at '{where}.privateKeyFile') is not an "
                    "Ed25519 private key"
                )
                raise ConfigError(msg)
            signing = SigningKey(kid=kid, private_key=private_key, created_at=datetime.now(UTC))
    assert signing is not None
    return StaticKeyStore(signing, public)
