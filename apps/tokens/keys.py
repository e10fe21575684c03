"""Signing keys: created on first need, rotated, encrypted at rest, cached per process.

The request path calls :func:`key_ring` and gets an in-memory :class:`KeyRing`; the database
is asked at most once per ``ACCESSCTL_CONFIG_CHECK_INTERVAL`` whether a newer key exists (one
indexed ``MAX(generation)``, mirrored in the shared cache, which confirms the ring while the
database is unreachable), never per request. A rotation in this process replaces the ring
at once; other workers and nodes pick the new key up within the check interval. A new key is
published :data:`PUBLISH_AHEAD` before it signs, so every node -- and every origin caching
the JWKS -- knows it before the first token signed with it arrives. Times that move on their
own (a successor starting to sign, a key falling out of the overlap, a rotation becoming due)
are judged against the wall clock on every call, so they need no database query.

Encryption at rest: AES-256-GCM under a key derived with HKDF-SHA256 from
``ACCESSCTL_KEY_ENCRYPTION_SECRET`` (never the raw secret bytes), a random 96-bit
nonce per key, and the ``kid`` as associated data so a ciphertext cannot be moved to another
row. If the secret changes, old private keys cannot be decrypted: tokens already issued still
verify (public keys are stored in clear), and ``accessctl keys rotate`` makes a fresh key.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.db import DatabaseError, IntegrityError, models, transaction
from django.db.models import Max
from django.utils import timezone

from accessctl.core import tokens
from accessctl.core.issuing import issue, subject_name
from apps.base import sealing
from apps.base.backends import Backend, Source, Stamp, backends, problem_line
from apps.base.conf import access_settings
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
    return access_settings().key_rotation


def overlap() -> dt.timedelta:
    """How long a replaced key's tokens are still accepted (ACCESSCTL_KEY_OVERLAP_DAYS)."""
    return access_settings().key_overlap


# --- Encryption at rest --------------------------------------------------------------------


_SEALING = sealing.Purpose(salt=_HKDF_SALT, info=_HKDF_INFO)


def seal_private_key(private_key: tokens.PrivateKey, kid: str) -> bytes:
    """Encrypt a private key for storage: ``nonce || AES-GCM(PKCS#8 DER)``, ``kid`` bound."""
    der = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        return sealing.seal(der, purpose=_SEALING, bound_to=kid)
    except sealing.SealError as exc:
        raise SigningKeyUnavailable(str(exc)) from None


def unseal_private_key(sealed: bytes | memoryview, kid: str) -> tokens.PrivateKey:
    """Decrypt a stored private key; raise :class:`SigningKeyUnavailable` if it cannot be."""
    try:
        der = sealing.unseal(sealed, purpose=_SEALING, bound_to=kid)
    except sealing.SealError as exc:
        raise SigningKeyUnavailable(
            f"signing key {kid} {exc}: was ACCESSCTL_KEY_ENCRYPTION_SECRET "
            "changed? Run `accessctl keys rotate --now` to make a new key."
        ) from None
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SigningKeyUnavailable(f"signing key {kid} is neither an RSA nor an EC key")
    return key


# --- Writes --------------------------------------------------------------------------------


def _self_signed_certificate(private_key: tokens.PrivateKey, kid: str, now: dt.datetime) -> str:
    """The ``public_cert`` origins may prefer to a JWK: the public key in a certificate."""
    lifetime = rotation_interval() + overlap() + dt.timedelta(days=30)
    issued = issue(
        subject_name(f"accessctl token key {kid[:16]}"),
        key=private_key,
        not_before=now - dt.timedelta(minutes=5),
        not_after=now + lifetime,
    )
    return issued.pem


def configured_algorithm() -> tokens.Algorithm:
    """The algorithm new keys are made for (ACCESSCTL_TOKEN_ALGORITHM, RS256 by default)."""
    return tokens.Algorithm(access_settings().token_algorithm)


def _new_key_row(
    generation: int, now: dt.datetime, signs_from: dt.datetime, algorithm: tokens.Algorithm
) -> SigningKey:
    private_key = tokens.generate_private_key(algorithm)
    kid = tokens.jwk_thumbprint(private_key.public_key())
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SigningKey(
        generation=generation,
        kid=kid,
        algorithm=algorithm.value,
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

    The new key is made for the configured algorithm (ACCESSCTL_TOKEN_ALGORITHM): changing
    the setting is a rotation like any other, with the same publish-ahead and overlap.

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
            generation = (newest.generation if newest else 0) + 1
            row = _new_key_row(generation, now, starts, configured_algorithm())
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
        winner = SigningKey.objects.order_by("-generation").first()
        if winner is None:  # pragma: no cover - the winner's transaction committed a key
            raise
        row = winner
    logger.info(
        "token signing key rotated: kid=%s generation=%s signs_from=%s",
        row.kid,
        row.generation,
        row.signs_from.isoformat(),
    )
    forget_key_ring()
    problem = generation_stamp.publish(str(row.generation))
    if problem is not None:
        logger.warning(
            "signing key %s saved, but the cache could not be told (%s); every node reads it "
            "from the database",
            row.kid,
            problem,
        )
    return row


def _ensure_signing_key(now: dt.datetime) -> None:
    """Create the first key on first need; start a successor once the newest is due, or made
    for another algorithm than the configured one."""
    newest = SigningKey.objects.order_by("-generation").first()
    if (
        newest is None
        or newest.signs_from + rotation_interval() <= now
        or newest.algorithm != configured_algorithm()
    ):
        signing_key_rotate(now=now)


# --- The in-process key ring -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RingKey:
    """One key as a worker holds it: the public half, and the private half if it signs."""

    kid: str
    generation: int
    public_key: tokens.PublicKey
    certificate_pem: str
    signs_from: dt.datetime
    retired_at: dt.datetime | None  # when it stopped (or will stop) signing
    signer: tokens.Signer | None  # None when retired or when it cannot be decrypted
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
    newest_algorithm: str = tokens.Algorithm.RS256.value

    def signing_key(self, now: dt.datetime | None = None) -> tokens.Signer:
        """The key to sign with at ``now``; raise :class:`SigningKeyUnavailable` if none."""
        now = now or timezone.now()
        for key in self.keys:
            if key.signs_at(now):
                if key.signer is None:
                    raise SigningKeyUnavailable(key.signer_problem)
                return key.signer
        raise SigningKeyUnavailable("no signing key is active")

    def rotation_due(self, now: dt.datetime) -> bool:
        """True when the newest key has signed for the rotation interval, or was made for
        another algorithm than the configured one."""
        return (
            self.newest_signs_from + rotation_interval() <= now
            or self.newest_algorithm != configured_algorithm()
        )

    def accepted(self, now: dt.datetime, overlap: dt.timedelta) -> tuple[RingKey, ...]:
        """Keys whose tokens verify at ``now``: next, current, and retired within the overlap."""
        return tuple(k for k in self.keys if k.accepted_at(now, overlap))

    def verification_keys(
        self, now: dt.datetime, overlap: dt.timedelta
    ) -> Mapping[str, tokens.PublicKey]:
        """``kid`` → public key, for :func:`accessctl.core.tokens.verify_token`."""
        return {k.kid: k.public_key for k in self.accepted(now, overlap)}

    def accepted_until(self, kid: str, overlap: dt.timedelta) -> dt.datetime:
        """When tokens of key ``kid`` stop verifying (the end of its overlap), as far as this
        ring knows: a key with no successor yet has no end."""
        for key in self.keys:
            if key.kid == kid:
                return (
                    dt.datetime.max.replace(tzinfo=dt.UTC)
                    if key.retired_at is None
                    else (key.retired_at + overlap)
                )
        return dt.datetime.min.replace(tzinfo=dt.UTC)

    def jwks(self, now: dt.datetime, overlap: dt.timedelta) -> dict[str, Any]:
        """The document served at /cdn-cgi/access/certs, in Cloudflare's shape.

        ``public_cert`` is the key signing now; ``public_certs`` holds every key accepted now
        (a successor published ahead of use included), and so does ``keys`` -- except that
        while RS256 is configured it lists RSA keys only: origin code written from
        Cloudflare's documentation loads every JWK with an RSA loader and stops at the first
        it cannot load, so an EC key still in its overlap after a change of algorithm would
        break it. Such a key still verifies the tokens it signed, here.
        """
        accepted = self.accepted(now, overlap)
        certs = [{"kid": k.kid, "cert": k.certificate_pem} for k in accepted]
        signing = next((k for k in accepted if k.signs_at(now)), accepted[0] if accepted else None)
        published = accepted
        if configured_algorithm() is tokens.Algorithm.RS256:
            published = tuple(k for k in accepted if isinstance(k.public_key, rsa.RSAPublicKey))
        return {
            "keys": [tokens.public_jwk(k.kid, k.public_key) for k in published],
            "public_cert": {"kid": signing.kid, "cert": signing.certificate_pem} if signing else {},
            "public_certs": certs,
        }


_ring: KeyRing | None = None
_checked_at = 0.0  # time.monotonic() of the last check
_confirmed_at = -float("inf")  # ... of the last check the database or the cache confirmed the ring
_failed_at = -float("inf")  # ... of the last database error (a due rotation waits an interval)
_lock = threading.Lock()
GENERATION_CACHE_KEY = "accessctl:key-generation"


def _newest_generation() -> str:
    return str(SigningKey.objects.aggregate(top=Max("generation"))["top"] or 0)


# The newest generation, confirmed like the configuration version (apps.base.backends): the
# database whenever it answers, else the cache's copy of what the database last said.
generation_stamp = Stamp(GENERATION_CACHE_KEY, _newest_generation)


def forget_key_ring() -> None:
    """Drop this process's cached ring; the next :func:`key_ring` call reloads it."""
    global _ring
    with _lock:
        _ring = None


def _ring_key(row: SigningKey, now: dt.datetime) -> RingKey | None:
    public = serialization.load_pem_public_key(row.public_key_pem.encode())
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):  # pragma: no cover
        return None  # we made every stored key
    signer, problem = None, ""
    if row.retired_at is None or row.retired_at > now:  # signs now or later: decrypt
        try:
            signer = tokens.Signer(row.kid, unseal_private_key(row.encrypted_private_key, row.kid))
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
        newest_algorithm=rows[0].algorithm,
    )


def key_ring(*, now: dt.datetime | None = None) -> KeyRing:
    """This worker's key ring, reloaded only when the database holds a newer generation.

    Creates the first key on first need, and starts a successor once the newest key has
    signed for ACCESSCTL_KEY_ROTATION_DAYS. At most once per check interval the newest
    generation is confirmed: against the database when it answers, else against the cache's
    copy (the same generation there keeps the ring valid for as long as the database is
    away). When neither confirmed it for longer than ACCESSCTL_CONFIG_MAX_STALENESS, or there
    is no ring yet and the database is unreachable, :class:`SigningKeyUnavailable` is raised
    (the request path answers 503).
    """
    global _ring, _checked_at, _confirmed_at, _failed_at
    now = now or timezone.now()
    conf = access_settings()
    ring = _ring
    clock, interval = time.monotonic(), conf.config_check_interval
    due = ring is not None and ring.rotation_due(now) and clock - _failed_at >= interval
    if ring is not None and not due and clock - _checked_at < interval:
        return _unless_stale(ring, clock)
    if ring is not None:
        reading = generation_stamp.confirm()
        with _lock:
            _checked_at = clock
        current = reading.value == str(ring.generation)
        if current and (reading.source is Source.CACHE or not due):
            with _lock:
                _confirmed_at = clock
            return ring
        if reading.source is not Source.DATABASE:
            return _unless_stale(ring, clock)
    try:
        new_ring = _load_ring(now)
    except DatabaseError as exc:
        backends.failed(Backend.DATABASE, exc)
        with _lock:
            _checked_at = _failed_at = clock
        if ring is None:
            raise SigningKeyUnavailable(
                f"signing keys cannot be loaded: {problem_line(exc)}"
            ) from None
        return _unless_stale(ring, clock)
    with _lock:
        _ring, _checked_at, _confirmed_at = new_ring, clock, clock
    return new_ring


def _unless_stale(ring: KeyRing, clock: float) -> KeyRing:
    if clock - _confirmed_at > access_settings().config_max_staleness:
        raise SigningKeyUnavailable(
            "signing keys unconfirmed: neither the database nor the cache answered with their "
            "generation"
        )
    return ring
