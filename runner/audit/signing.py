"""Signatures on run manifests: Ed25519 (auditors verify with the public key alone) or HMAC-SHA256.

Ed25519 is the default: the private key signs, the public key verifies, so the people who check
the evidence never hold what could forge it. Where a shared secret is preferred, HMAC-SHA256 signs
with `audit_hmac_key` (BACKROOM_SECRET_AUDIT_HMAC_KEY or the keyring), like any other secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import ConfigurationError, EvidenceProblem, SecretMissingError
from ..project.secrets import resolve_secrets
from ..project.settings import Settings

HMAC_SECRET = "audit_hmac_key"
PASSPHRASE_SECRET = "audit_key_passphrase"   # encrypts the private key (environment or system keyring)


def key_passphrase(required: bool) -> bytes | None:
    """The private key's passphrase, when one is set (BACKROOM_SECRET_AUDIT_KEY_PASSPHRASE or the keyring)."""
    try:
        return resolve_secrets({PASSPHRASE_SECRET})[PASSPHRASE_SECRET].encode()
    except SecretMissingError:
        if required:
            raise
        return None


class Signer(Protocol):
    algorithm: str
    key_id: str

    def sign(self, data: bytes) -> str: ...


class Verifier(Protocol):
    algorithm: str
    key_id: str

    def verify(self, data: bytes, signature: str) -> bool: ...


def _key_id(material: bytes) -> str:
    return hashlib.sha256(material).hexdigest()[:16]


def fingerprint(key: Ed25519PublicKey) -> str:
    """The public key's SHA-256: what backroom.yaml pins (audit.public_key_sha256)."""
    return hashlib.sha256(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).hexdigest()


def _public_key_id(key: Ed25519PublicKey) -> str:
    """The same id for a key pair's two halves (the fingerprint's start): a manifest names the key that can
    verify it."""
    return fingerprint(key)[:16]


@dataclass
class Ed25519Signer:
    key: Ed25519PrivateKey
    algorithm: str = "ed25519"
    secret_values: tuple[str, ...] = ()   # the key's passphrase, masked in the run's logs like any secret

    @property
    def key_id(self) -> str:
        return _public_key_id(self.key.public_key())

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.key.sign(data)).decode()


@dataclass
class Ed25519Verifier:
    key: Ed25519PublicKey
    algorithm: str = "ed25519"

    @property
    def key_id(self) -> str:
        return _public_key_id(self.key)

    def verify(self, data: bytes, signature: str) -> bool:
        try:
            self.key.verify(base64.b64decode(signature), data)
            return True
        except (InvalidSignature, ValueError):
            return False


@dataclass
class HmacKey:
    secret: bytes
    algorithm: str = "hmac-sha256"

    @property
    def key_id(self) -> str:  # names the key without revealing it
        return _key_id(b"backroom-hmac-id:" + hashlib.sha256(self.secret).digest())

    def sign(self, data: bytes) -> str:
        return base64.b64encode(hmac.new(self.secret, data, hashlib.sha256).digest()).decode()

    def verify(self, data: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign(data), signature)

    @property
    def secret_values(self) -> tuple[str, ...]:  # scrubbed from the run's logs like any secret
        return (self.secret.decode(errors="replace"),)


def key_path(project: Path, configured: str) -> Path:
    path = Path(configured)
    return path if path.is_absolute() else Path(project) / path


def generate_key_pair(private_path: Path, public_path: Path) -> None:
    """A new Ed25519 key pair: the private key readable by its owner only (and encrypted with the passphrase
    secret when one is set), the public key to share."""
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    passphrase = key_passphrase(required=False)
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))


def load_signer(settings: Settings, project: Path) -> Signer:
    audit = settings.audit
    if audit.signing == "hmac":
        return HmacKey(resolve_secrets({HMAC_SECRET})[HMAC_SECRET].encode())
    private_path = key_path(project, audit.private_key)
    if not private_path.exists():
        generate_key_pair(private_path, key_path(project, audit.public_key))
    pem = private_path.read_bytes()
    encrypted = pem.lstrip().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    passphrase = key_passphrase(required=True) if encrypted else None
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"audit.private_key {audit.private_key}: cannot be read ({exc})",
                                 f"Check the passphrase secret {PASSPHRASE_SECRET}, or create a key pair with: "
                                 "backroom audit keygen") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"audit.private_key {audit.private_key}: not an Ed25519 key",
                                 "Create a key pair with: backroom audit keygen")
    if audit.public_key_sha256 and fingerprint(key.public_key()) != audit.public_key_sha256:
        # signing with it would make runs that the pinned key cannot verify
        raise ConfigurationError(f"audit.private_key {audit.private_key} is not the key backroom.yaml pins "
                                 "(audit.public_key_sha256)",
                                 "Put back the pinned key pair, or pin the new one's fingerprint (backroom audit keygen "
                                 "prints it).")
    return Ed25519Signer(key, secret_values=(passphrase.decode(),) if passphrase else ())


def load_verifier(settings: Settings, project: Path, public_key: Path | None = None,
                  pinned: str | None = None) -> Verifier:
    """The key that checks signatures. With a pin (`pinned`, else audit.public_key_sha256) a public key
    with another fingerprint is refused: whoever can write logs/ could have replaced it."""
    audit = settings.audit
    if audit.signing == "hmac" and public_key is None:
        return HmacKey(resolve_secrets({HMAC_SECRET})[HMAC_SECRET].encode())
    path = public_key or key_path(project, audit.public_key)
    if not path.exists():
        raise ConfigurationError(f"public key {path.name} not found",
                                 "Give the signing key's public half with --public-key FILE.")
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except ValueError as exc:
        raise ConfigurationError(f"{path.name}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError(f"{path.name}: not an Ed25519 public key")
    expected = (pinned or audit.public_key_sha256 or "").lower()
    if expected and fingerprint(key) != expected:
        source = "--fingerprint" if pinned else "audit.public_key_sha256 in backroom.yaml"
        raise EvidenceProblem(f"the public key {path.name} has fingerprint {fingerprint(key)}, but {source} pins "
                              f"{expected}: the key was replaced, and no run can be trusted with it",
                              "Verify with the public key you were given (--public-key FILE); find out who "
                              "replaced the key.")
    return Ed25519Verifier(key)


def public_key_fingerprint(path: Path) -> str | None:
    """The fingerprint of an Ed25519 public key file, None when it is not one."""
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError):
        return None
    return fingerprint(key) if isinstance(key, Ed25519PublicKey) else None


def unpinned_fingerprint(settings: Settings, project: Path) -> str | None:
    """The fingerprint of the public key in use when backroom.yaml pins none, to say what to pin."""
    if settings.audit.signing != "ed25519" or settings.audit.public_key_sha256:
        return None
    return public_key_fingerprint(key_path(project, settings.audit.public_key))
