"""Secrets at rest: AES-256-GCM with a key derived (HKDF-SHA256) from
``ACCESSCTL_KEY_ENCRYPTION_SECRET``, one derived key per purpose.

Stored as ``nonce || ciphertext``; ``bound_to`` (a key id, a row's name) is the associated
data, so a sealed value copied onto another row does not open. Used for the token signing
keys (``apps.tokens.keys``) and the login methods' client secrets (``apps.identity``);
:func:`derived_key` alone keys the HMAC of the one-time PINs (``apps.identity.pins``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from apps.base.conf import access_settings

_NONCE_BYTES = 12


class SealError(Exception):
    """A value cannot be sealed or opened (no secret configured, or another secret)."""


@dataclass(frozen=True, slots=True)
class Purpose:
    """What a sealed value is for: its own HKDF salt and info, so keys never repeat across
    purposes."""

    salt: bytes
    info: bytes


def derived_key(purpose: Purpose) -> bytes:
    """A 32-byte key of its own for ``purpose``, derived from
    ``ACCESSCTL_KEY_ENCRYPTION_SECRET`` (also to key an HMAC: the one-time PINs' digests);
    raise :class:`SealError` when no secret is configured."""
    secret = access_settings().key_encryption_secret
    if not secret:
        raise SealError("ACCESSCTL_KEY_ENCRYPTION_SECRET is empty")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=purpose.salt, info=purpose.info)
    return hkdf.derive(secret.encode())


def seal(plaintext: bytes, *, purpose: Purpose, bound_to: str) -> bytes:
    """Encrypt ``plaintext`` for storage."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(derived_key(purpose)).encrypt(nonce, plaintext, bound_to.encode())


def unseal(sealed: bytes | memoryview, *, purpose: Purpose, bound_to: str) -> bytes:
    """Decrypt a stored value; raise :class:`SealError` when it cannot be opened."""
    data = bytes(sealed)
    try:
        return AESGCM(derived_key(purpose)).decrypt(
            data[:_NONCE_BYTES], data[_NONCE_BYTES:], bound_to.encode()
        )
    except InvalidTag:
        raise SealError("cannot be decrypted with ACCESSCTL_KEY_ENCRYPTION_SECRET") from None
