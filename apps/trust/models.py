"""The trust store: uploaded CA bundles, their parsed certificates and bound hostnames."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone


class MtlsCertificateQuerySet(models.QuerySet):
    def for_host(self, hostname: str) -> MtlsCertificateQuerySet:
        """Enabled bundles bound to ``hostname`` (already normalized)."""
        return self.filter(enabled=True, hostnames__hostname=hostname).distinct()


class MtlsCertificate(models.Model):
    """An uploaded CA bundle (a root plus any intermediates) and the hostnames it guards.

    The bundle text is kept as uploaded; it can never hold a private key because uploads with
    one are refused before anything is stored.
    """

    name = models.CharField("Name", max_length=100, unique=True)
    pem = models.TextField("Certificate content")
    enabled = models.BooleanField(
        default=True, help_text="A disabled certificate verifies no client; sessions end."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    objects = MtlsCertificateQuerySet.as_manager()

    class Meta:
        verbose_name = "mTLS Certificate"
        verbose_name_plural = "Mutual TLS"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def not_after(self) -> dt.datetime | None:
        """When the first certificate of the bundle expires (the bundle is no better)."""
        return min((c.not_after for c in self.certificates.all()), default=None)

    def days_left(self, now: dt.datetime | None = None) -> int | None:
        expiry = self.not_after
        if expiry is None:
            return None
        return (expiry - (now or timezone.now())).days

    def expires_within(self, days: int, now: dt.datetime | None = None) -> bool:
        left = self.days_left(now)
        return left is not None and left < days


class CaCertificate(models.Model):
    """One certificate of an uploaded bundle, with the facts parsed from it."""

    bundle = models.ForeignKey(
        MtlsCertificate, on_delete=models.CASCADE, related_name="certificates"
    )
    position = models.PositiveSmallIntegerField()
    subject = models.TextField()
    issuer = models.TextField()
    serial_number = models.CharField(max_length=64)
    fingerprint_sha256 = models.CharField("SHA-256 fingerprint", max_length=64, unique=True)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    key_type = models.CharField(max_length=16)
    key_size = models.PositiveIntegerField()
    signature_algorithm = models.CharField(max_length=64)
    is_root = models.BooleanField()
    der = models.BinaryField()

    class Meta:
        verbose_name = "CA certificate"
        ordering = ["bundle", "position"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "position"], name="trust_ca_position")
        ]

    def __str__(self) -> str:
        return self.subject


class AssociatedHostname(models.Model):
    """A hostname (normalized: lowercase, IDNA, no port or trailing dot) a bundle guards."""

    certificate = models.ForeignKey(
        MtlsCertificate, on_delete=models.CASCADE, related_name="hostnames"
    )
    hostname = models.CharField(max_length=253, db_index=True)

    class Meta:
        ordering = ["hostname"]
        constraints = [
            models.UniqueConstraint(fields=["certificate", "hostname"], name="trust_host_once")
        ]

    def __str__(self) -> str:
        return self.hostname
