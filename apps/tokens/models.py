"""Token signing keys, stored with the private half encrypted (see ``apps.tokens.keys``)."""

from __future__ import annotations

import datetime as dt

from django.db import models


class KeyState(models.TextChoices):
    """Where a key is in its life: published ahead, signing, still accepted, or refused."""

    NEXT = "next", "Next (published, signs soon)"
    CURRENT = "current", "Current (signs new tokens)"
    PREVIOUS = "previous", "Previous (still accepted)"
    RETIRED = "retired", "Retired (refused)"


class SigningKeyQuerySet(models.QuerySet["SigningKey"]):
    def accepted_at(self, now: dt.datetime, overlap: dt.timedelta) -> SigningKeyQuerySet:
        """Keys whose tokens verify at ``now``: the current one and those within the overlap."""
        return self.filter(
            models.Q(retired_at__isnull=True) | models.Q(retired_at__gt=now - overlap)
        ).order_by("-generation")


class SigningKey(models.Model):
    """An ES256 key pair that signs CF_Authorization tokens.

    ``generation`` numbers keys 1, 2, 3…; it is unique, so two workers rotating at the same
    moment cannot both create a successor: one insert fails and that worker reloads. A new key
    is published (JWKS, every worker's key ring) at ``created_at`` but signs only from
    ``signs_from``, a few minutes later, so that origins caching the JWKS and other nodes know
    it before the first token signed with it arrives. Its predecessor signs until then
    (``retired_at`` = the successor's ``signs_from``) and is still accepted for the overlap
    period after that. The private key is stored only encrypted (AES-GCM, key derived with
    HKDF from ``ACCESSCTL_KEY_ENCRYPTION_SECRET``, the ``kid`` as associated data).
    """

    generation = models.PositiveIntegerField(unique=True, editable=False)
    kid = models.CharField("Key ID", max_length=64, unique=True, editable=False)
    algorithm = models.CharField(max_length=16, editable=False)
    public_key_pem = models.TextField("Public key", editable=False)
    certificate_pem = models.TextField(
        "Public certificate",
        editable=False,
        help_text="Self-signed certificate of the public key, published as public_cert.",
    )
    encrypted_private_key = models.BinaryField(editable=False)
    created_at = models.DateTimeField(editable=False)
    signs_from = models.DateTimeField(editable=False)
    retired_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When a successor took over signing."
    )

    objects = SigningKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "token signing key"
        ordering = ["-generation"]

    def __str__(self) -> str:
        return self.kid

    def state(self, now: dt.datetime, overlap: dt.timedelta) -> KeyState:
        """The key's state at ``now`` given the overlap during which a retired key is accepted."""
        if self.retired_at is not None and self.retired_at <= now:
            return KeyState.PREVIOUS if self.retired_at + overlap > now else KeyState.RETIRED
        if self.signs_from > now:
            return KeyState.NEXT
        return KeyState.CURRENT


class EndedSessionQuerySet(models.QuerySet["EndedSession"]):
    def live_at(self, now: dt.datetime) -> EndedSessionQuerySet:
        """Logouts whose sessions could still be presented at ``now``."""
        return self.filter(until__gt=now)


class EndedSession(models.Model):
    """A login that was logged out: every session carrying its ``identity_nonce`` (on every
    application and the authentication hostname) is refused from now on.

    Kept until ``until``, when every token of that login has expired anyway. Saving one bumps
    the configuration version (``apps.gateway.signals``), so every worker of every node reads
    it with its next snapshot, within a second; the request path never queries it.
    """

    identity_nonce = models.CharField(max_length=64, unique=True)
    ended_at = models.DateTimeField()
    until = models.DateTimeField(db_index=True)

    objects = EndedSessionQuerySet.as_manager()

    class Meta:
        verbose_name = "ended session"

    def __str__(self) -> str:
        return self.identity_nonce


class LoginCode(models.Model):
    """A single-use code carrying a login to an application's hostname (``apps.tokens.handoff``):
    its SHA-256 only, what it carries, and until when it can be redeemed (seconds)."""

    code_sha256 = models.CharField(max_length=64, unique=True)
    payload = models.JSONField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "login code"

    def __str__(self) -> str:
        return self.code_sha256[:12]
