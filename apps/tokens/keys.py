"""Signing keys: created on first need, rotated, encrypted at rest, cached per process.

The request path calls :func:`key_ring` and gets an in-memory :class:`KeyRing`; the database
is asked at most once per ``ACCESSCTL_CONFIG_CHECK_INTERVAL`` whether a newer key exists (one
indexed ``MAX(generation)``), never per request. A rotation in this process replaces the ring
at once; other workers and nodes pick the new key up within the check interval. Times that
move on their own (a key falling out of the overlap, a rotation becoming due) are judged
against the wall clock on every call, so they need no database query.

Encryption at rest: AES-256-GCM under a key derived with HKDF-SHA256 from
``settings.ACCESSCTL_KEY_ENCRYPTION_SECRET`` (never the raw secret bytes), a random 96-bit
nonce per key, and the ``kid`` as associated data so a ciphertext cannot be moved to another
row. If the secret changes, old private keys cannot be decrypted: tokens already issued still
verify (public keys are stored in clear), and ``accessctl keys rotate`` makes a fresh key.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accessctl.core import tokens
from apps.tokens.models import SigningKey

logger = logging.getLogger(__name__)

_NONCE_BYTES = 12
_HKDF_SALT = b"accessctl/tokens/signing-key-encryption"
_HKDF_INFO = b"AES-256-GCM key for stored token signing keys, v1"


class SigningKeyUnavailable(Exception):
    """No key can sign right now (e.g. the encryption secret changed); the message says why."""


def rotation_interval() -> dt.timedelta:
    """How long a key signs before a successor takes over (ACCESSCTL_KEY_ROTATION_DAYS)."""
    return dt.timedelta(days=settings.ACCESSCTL_KEY_ROTATION_DAYS)


def overlap() -> dt.timedelta:
    """How long a replaced key's tokens are still accepted (ACCESSCTL_KEY_OVERLAP_DAYS)."""
    return dt.timedelta(days=settings.ACCESSCTL_KEY_OVERLAP_DAYS)


# --- Encryption at rest --------------------------------------------------------------------


def _key_encryption_key() -> bytes:
    secret = settings.ACCESSCTL_KEY_ENCRYPTION_SECRET
    if not secret:
        raise SigningKeyUnavailable("ACCESSCTL_KEY_ENCRYPTION_SECRET is empty")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO)
    return hkdf.derive(secret.encode())


def seal_private_key(private_key: ec.EllipticCurvePrivateKey, kid: str) -> bytes:
    """Encrypt a private key for storage: ``nonce || AES-GCM(PKCS#8 DER)``, ``kid`` bound."""
    der = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(_key_encryption_key()).encrypt(nonce, der, kid.encode())


def unseal_private_key(sealed: bytes, kid: str) -> ec.EllipticCurvePrivateKey:
    """Decrypt a stored private key; raise :class:`SigningKeyUnavailable` if it cannot be."""
    sealed = bytes(sealed)
    try:
        der = AESGCM(_key_encryption_key()).decrypt(
            sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], kid.encode()
        )
    except InvalidTag:
        raise SigningKeyUnavailable(
            f"signing key {kid} cannot be decrypted: was ACCESSCTL_KEY_ENCRYPTION_SECRET "
            "changed? Run `accessctl keys rotate` to make a new key."
        ) from None
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SigningKeyUnavailable(f"signing key {kid} is not an EC key")
    return key


# --- Writes --------------------------------------------------------------------------------


def _self_signed_certificate(
    private_key: ec.EllipticCurvePrivateKey, kid: str, now: dt.datetime
) -> str:
    """The ``public_cert`` origins may prefer to a JWK: the public key in a certificate."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"accessctl token key {kid[:16]}")])
    lifetime = rotation_interval() + overlap() + dt.timedelta(days=30)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + lifetime)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _new_key_row(generation: int, now: dt.datetime) -> SigningKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    kid = tokens.jwk_thumbprint(private_key.public_key())
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SigningKey(
        generation=generation,
        kid=kid,
        algorithm=tokens.ALGORITHM,
        public_key_pem=public_pem.decode(),
        certificate_pem=_self_signed_certificate(private_key, kid, now),
        encrypted_private_key=seal_private_key(private_key, kid),
        created_at=now,
    )


def signing_key_rotate(*, now: dt.datetime | None = None) -> SigningKey:
    """Make a new current key and retire the one before it (still accepted for the overlap).

    Safe to call from several workers at once: the unique ``generation`` lets one win; the
    others get the winner's key back. Works even when the old key cannot be decrypted.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            top = SigningKey.objects.aggregate(top=Max("generation"))["top"] or 0
            row = _new_key_row(top + 1, now)
            row.save(force_insert=True)
            SigningKey.objects.filter(
                retired_at__isnull=True, generation__lt=row.generation
            ).update(retired_at=now)
    except IntegrityError:
        # Another worker rotated between our read and our insert: use its key.
        row = SigningKey.objects.filter(retired_at__isnull=True).order_by("-generation").first()
        if row is None:  # pragma: no cover - the winner's transaction committed a current key
            raise
    logger.info("token signing key rotated: kid=%s generation=%s", row.kid, row.generation)
    forget_key_ring()
    return row


def current_signing_key_row(*, now: dt.datetime | None = None) -> SigningKey:
    """The key that signs now: created on first need, rotated when its time has come."""
    now = now or timezone.now()
    row = SigningKey.objects.filter(retired_at__isnull=True).order_by("-generation").first()
    if row is None or row.rotation_due(now, rotation_interval()):
        row = signing_key_rotate(now=now)
    return row


# --- The in-process key ring -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """The public half of a key, with when it was retired (None: it is the current key)."""

    kid: str
    public_key: ec.EllipticCurvePublicKey
    certificate_pem: str
    created_at: dt.datetime
    retired_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The keys one worker signs and verifies with, loaded at one generation."""

    generation: int
    signer: tokens.SigningKey | None  # None when the current key cannot be decrypted
    signer_problem: str
    current_created_at: dt.datetime
    published: tuple[PublishedKey, ...]  # newest first

    def signing_key(self) -> tokens.SigningKey:
        """The key to sign with; raise :class:`SigningKeyUnavailable` if there is none."""
        if self.signer is None:
            raise SigningKeyUnavailable(self.signer_problem)
        return self.signer

    def accepted(self, now: dt.datetime, overlap: dt.timedelta) -> tuple[PublishedKey, ...]:
        """Keys whose tokens verify at ``now``: current, and retired ones within the overlap."""
        return tuple(
            k for k in self.published if k.retired_at is None or k.retired_at + overlap > now
        )

    def verification_keys(
        self, now: dt.datetime, overlap: dt.timedelta
    ) -> Mapping[str, ec.EllipticCurvePublicKey]:
        """``kid`` → public key, for :func:`accessctl.core.tokens.verify_token`."""
        return {k.kid: k.public_key for k in self.accepted(now, overlap)}

    def jwks(self, now: dt.datetime, overlap: dt.timedelta) -> dict[str, Any]:
        """The document served at /cdn-cgi/access/certs, in Cloudflare's shape."""
        accepted = self.accepted(now, overlap)
        certs = [{"kid": k.kid, "cert": k.certificate_pem} for k in accepted]
        return {
            "keys": [tokens.public_jwk(k.kid, k.public_key) for k in accepted],
            "public_cert": certs[0] if certs else {},
            "public_certs": certs,
        }


_ring: KeyRing | None = None
_checked_at = 0.0  # time.monotonic() of the last database check
_lock = threading.Lock()


def forget_key_ring() -> None:
    """Drop this process's cached ring; the next :func:`key_ring` call reloads it."""
    global _ring
    with _lock:
        _ring = None


def _load_ring(now: dt.datetime) -> KeyRing:
    current = current_signing_key_row(now=now)
    rows = list(SigningKey.objects.accepted_at(now, overlap()))
    published = []
    for row in rows:
        public = serialization.load_pem_public_key(row.public_key_pem.encode())
        if not isinstance(public, ec.EllipticCurvePublicKey):  # pragma: no cover - we made it
            continue
        published.append(
            PublishedKey(row.kid, public, row.certificate_pem, row.created_at, row.retired_at)
        )
    signer, problem = None, ""
    try:
        signer = tokens.SigningKey(
            current.kid, unseal_private_key(current.encrypted_private_key, current.kid)
        )
    except SigningKeyUnavailable as exc:
        problem = str(exc)
        logger.error("token signing unavailable: %s", problem)
    return KeyRing(
        generation=current.generation,
        signer=signer,
        signer_problem=problem,
        current_created_at=current.created_at,
        published=tuple(published),
    )


def key_ring(*, now: dt.datetime | None = None) -> KeyRing:
    """This worker's key ring, reloaded only when the database holds a newer generation.

    Creates the first key on first need, and rotates the current one once it is older than
    ACCESSCTL_KEY_ROTATION_DAYS. When the database cannot be reached, the cached ring is
    served (keys change rarely, and an unknown new key only fails closed); with no ring yet,
    :class:`SigningKeyUnavailable` is raised (the request path answers 503).
    """
    global _ring, _checked_at
    now = now or timezone.now()
    ring = _ring
    interval = float(settings.ACCESSCTL_CONFIG_CHECK_INTERVAL)
    due = ring is None or ring.current_created_at + rotation_interval() <= now
    if ring is not None and not due and time.monotonic() - _checked_at < interval:
        return ring
    try:
        if ring is not None and not due:
            top = SigningKey.objects.aggregate(top=Max("generation"))["top"]
            if top == ring.generation:
                with _lock:
                    _checked_at = time.monotonic()
                return ring
        new_ring = _load_ring(now)
    except DatabaseError as exc:
        if ring is None:
            raise SigningKeyUnavailable(f"signing keys cannot be loaded: {exc}") from None
        logger.warning("signing keys: database unreachable, serving the cached keys: %s", exc)
        with _lock:
            _checked_at = time.monotonic()
        return ring
    with _lock:
        _ring, _checked_at = new_ring, time.monotonic()
    return new_ring
