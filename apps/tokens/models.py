"""Token signing keys, stored with the private half encrypted (see ``apps.tokens.keys``)."""

from __future__ import annotations

import datetime as dt

from django.db import models


class KeyState(models.TextChoices):
    """Where a key is in its life: signing, still accepted (overlap), or no longer accepted."""

    CURRENT = "current", "Current (signs new tokens)"
    PREVIOUS = "previous", "Previous (still accepted)"
    RETIRED = "retired", "Retired (refused)"


class SigningKeyQuerySet(models.QuerySet):
    def accepted_at(self, now: dt.datetime, overlap: dt.timedelta) -> SigningKeyQuerySet:
        """Keys whose tokens verify at ``now``: the current one and those within the overlap."""
        return self.filter(
            models.Q(retired_at__isnull=True) | models.Q(retired_at__gt=now - overlap)
        ).order_by("-generation")


class SigningKey(models.Model):
    """An ES256 key pair that signs CF_Authorization tokens.

    ``generation`` numbers keys 1, 2, 3…; it is unique, so two workers rotating at the same
    moment cannot both create a successor: one insert fails and that worker reloads. The newest
    generation that is not retired signs; a retired key is still accepted for the overlap
    period after ``retired_at``. The private key is stored only encrypted (AES-GCM, key derived
    with HKDF from ``ACCESSCTL_KEY_ENCRYPTION_SECRET``, the ``kid`` as associated data).
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
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = SigningKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "token signing key"
        ordering = ["-generation"]

    def __str__(self) -> str:
        return self.kid

    def state(self, now: dt.datetime, overlap: dt.timedelta) -> KeyState:
        """The key's state at ``now`` given the overlap during which a retired key is accepted."""
        if self.retired_at is None:
            return KeyState.CURRENT
        if self.retired_at + overlap > now:
            return KeyState.PREVIOUS
        return KeyState.RETIRED

    def rotation_due(self, now: dt.datetime, rotation_interval: dt.timedelta) -> bool:
        """True when this (current) key has signed long enough and a successor should take over."""
        return self.retired_at is None and self.created_at + rotation_interval <= now
