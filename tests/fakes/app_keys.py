"""A GitHub App's key pair, made at test time (no private key is ever committed)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["KeyPair", "key_pair"]


@dataclass(frozen=True)
class KeyPair:
    private: str
    """PEM (PKCS#8), what the App's owner downloads from GitHub."""
    public: str
    """PEM, what GitHub keeps to verify the App's JWTs."""


@cache
def key_pair() -> KeyPair:
    """One 2048-bit RSA key pair per test session (making one takes a moment)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private, public)
