"""Signing keys: created on first need, rotated, encrypted at rest, cached per process.

The request path calls :func:`key_ring` and gets an in-memory :class:`KeyRing`; the database
is asked at most once per ``ACCESSCTL_CONFIG_CHECK_INTERVAL`` whether a newer key exists (one
indexed ``MAX(generation)``), never per request. A rotation in this process replaces the ring
at once; other workers and nodes pick the new key up within the check interval. A new key is
published :data:`PUBLISH_AHEAD` before it signs, so every node -- and every origin caching
the JWKS -- knows it before the first token signed with it arrives. Times that move on their
own (a successor starting to sign, a key falling out of the overlap, a rotation becoming due)
are judged against the wall clock on every call, so they need no database query.

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
from django.db import DatabaseError, IntegrityError, models, transaction
from django.db.models import Max
from django.utils import timezone

from accessctl.core import tokens
from apps.tokens.models import SigningKey

logger = logging.getLogger(__name__)

_NONCE_BYTES = 12
# A new key is published this long before it signs: origins may cache the JWKS this long
# (/cdn-cgi/access/certs says max-age=300), and every worker reloads its keys far sooner.
PUBLISH_AHEAD = dt.timedelta(seconds=300)
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
            "changed? Run `accessctl keys rotate --now` to make a new key."
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


def _new_key_row(generation: int, now: dt.datetime, signs_from: dt.datetime) -> SigningKey:
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
        signs_from=signs_from,
    )


def signing_key_rotate(
    *, now: dt.datetime | None = None, immediately: bool = False, revoke_previous: bool = False
) -> SigningKey:
    """Make a successor key; it signs after :data:`PUBLISH_AHEAD` (at once if ``immediately``
    or if it is the first key). Its predecessor signs until then and is accepted for the
    overlap after that.

    ``revoke_previous`` (a leaked key; implies ``immediately``): every older key stops
    verifying at once, ending every session signed with it, instead of staying accepted for
    the overlap. Every worker drops it at its next key check (the generation changed).

    Safe to call from several workers at once: the unique ``generation`` lets one win; the
    others get the winner's key back. Works even when the old key cannot be decrypted.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            newest = SigningKey.objects.order_by("-generation").first()
            immediately = immediately or revoke_previous
            starts = now if newest is None or immediately else now + PUBLISH_AHEAD
            row = _new_key_row((newest.generation if newest else 0) + 1, now, starts)
            row.save(force_insert=True)
            # Predecessors stop signing when the new key starts (an earlier planned end stays).
            SigningKey.objects.filter(generation__lt=row.generation).filter(
                models.Q(retired_at__isnull=True) | models.Q(retired_at__gt=starts)
            ).update(retired_at=starts)
            if revoke_previous:
                # Retired one overlap ago: refused now (KeyState.RETIRED), never a "previous".
                SigningKey.objects.filter(generation__lt=row.generation).update(
                    retired_at=now - overlap()
                )
    except IntegrityError:
        # Another worker rotated between our read and our insert: use its key.
        row = SigningKey.objects.order_by("-generation").first()
        if row is None:  # pragma: no cover - the winner's transaction committed a key
            raise
    logger.info(
        "token signing key rotated: kid=%s generation=%s signs_from=%s",
        row.kid,
        row.generation,
        row.signs_from.isoformat(),
    )
    forget_key_ring()
    return row


def _ensure_signing_key(now: dt.datetime) -> None:
    """Create the first key on first need; start a successor once the newest is due."""
    newest = SigningKey.objects.order_by("-generation").first()
    if newest is None or newest.signs_from + rotation_interval() <= now:
        signing_key_rotate(now=now)


# --- The in-process key ring -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RingKey:
    """One key as a worker holds it: the public half, and the private half if it signs."""

    kid: str
    generation: int
    public_key: ec.EllipticCurvePublicKey
    certificate_pem: str
    signs_from: dt.datetime
    retired_at: dt.datetime | None  # when it stopped (or will stop) signing
    signer: tokens.SigningKey | None  # None when retired or when it cannot be decrypted
    signer_problem: str

    def signs_at(self, now: dt.datetime) -> bool:
        return self.signs_from <= now and (self.retired_at is None or self.retired_at > now)

    def accepted_at(self, now: dt.datetime, overlap: dt.timedelta) -> bool:
        return self.retired_at is None or self.retired_at + overlap > now


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The keys one worker signs and verifies with, loaded at one generation.

    Which key signs, and which are still accepted, is decided at each call from the time
    given, so a ring stays right between two loads.
    """

    generation: int
    newest_signs_from: dt.datetime
    keys: tuple[RingKey, ...]  # newest first

    def signing_key(self, now: dt.datetime | None = None) -> tokens.SigningKey:
        """The key to sign with at ``now``; raise :class:`SigningKeyUnavailable` if none."""
        now = now or timezone.now()
        for key in self.keys:
            if key.signs_at(now):
                if key.signer is None:
                    raise SigningKeyUnavailable(key.signer_problem)
                return key.signer
        raise SigningKeyUnavailable("no signing key is active")

    def rotation_due(self, now: dt.datetime) -> bool:
        """True when the newest key has signed for the rotation interval."""
        return self.newest_signs_from + rotation_interval() <= now

    def accepted(self, now: dt.datetime, overlap: dt.timedelta) -> tuple[RingKey, ...]:
        """Keys whose tokens verify at ``now``: next, current, and retired within the overlap."""
        return tuple(k for k in self.keys if k.accepted_at(now, overlap))

    def verification_keys(
        self, now: dt.datetime, overlap: dt.timedelta
    ) -> Mapping[str, ec.EllipticCurvePublicKey]:
        """``kid`` → public key, for :func:`accessctl.core.tokens.verify_token`."""
        return {k.kid: k.public_key for k in self.accepted(now, overlap)}

    def jwks(self, now: dt.datetime, overlap: dt.timedelta) -> dict[str, Any]:
        """The document served at /cdn-cgi/access/certs, in Cloudflare's shape.

        ``public_cert`` is the key signing now; ``public_certs`` and ``keys`` hold every key
        accepted now, a successor published ahead of use included.
        """
        accepted = self.accepted(now, overlap)
        certs = [{"kid": k.kid, "cert": k.certificate_pem} for k in accepted]
        signing = next((k for k in accepted if k.signs_at(now)), accepted[0] if accepted else None)
        return {
            "keys": [tokens.public_jwk(k.kid, k.public_key) for k in accepted],
            "public_cert": {"kid": signing.kid, "cert": signing.certificate_pem} if signing else {},
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


def _ring_key(row: SigningKey, now: dt.datetime) -> RingKey | None:
    public = serialization.load_pem_public_key(row.public_key_pem.encode())
    if not isinstance(public, ec.EllipticCurvePublicKey):  # pragma: no cover - we made it
        return None
    signer, problem = None, ""
    if row.retired_at is None or row.retired_at > now:  # signs now or later: decrypt
        try:
            signer = tokens.SigningKey(
                row.kid, unseal_private_key(row.encrypted_private_key, row.kid)
            )
        except SigningKeyUnavailable as exc:
            problem = str(exc)
            logger.error("token signing unavailable: %s", problem)
    return RingKey(
        row.kid,
        row.generation,
        public,
        row.certificate_pem,
        row.signs_from,
        row.retired_at,
        signer,
        problem,
    )


def _load_ring(now: dt.datetime) -> KeyRing:
    _ensure_signing_key(now)
    rows = list(SigningKey.objects.accepted_at(now, overlap()))
    ring_keys = tuple(k for k in (_ring_key(row, now) for row in rows) if k is not None)
    return KeyRing(
        generation=rows[0].generation,
        newest_signs_from=rows[0].signs_from,
        keys=ring_keys,
    )


def key_ring(*, now: dt.datetime | None = None) -> KeyRing:
    """This worker's key ring, reloaded only when the database holds a newer generation.

    Creates the first key on first need, and starts a successor once the newest key has
    signed for ACCESSCTL_KEY_ROTATION_DAYS. When the database cannot be reached, the cached
    ring is served (keys change rarely, and an unknown new key only fails closed); with no
    ring yet, :class:`SigningKeyUnavailable` is raised (the request path answers 503).
    """
    global _ring, _checked_at
    now = now or timezone.now()
    ring = _ring
    interval = float(settings.ACCESSCTL_CONFIG_CHECK_INTERVAL)
    due = ring is None or ring.rotation_due(now)
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
