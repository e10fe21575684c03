"""The trust store: uploaded CA bundles, their parsed certificates and bound hostnames."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import models
from django.db.models import Min
from django.utils import timezone

from apps.console.models import AuditedModel
from apps.trust.choices import EXPIRY_WARNING_DAYS, ExpiryState


class MtlsCertificateQuerySet(models.QuerySet):
    """Lookups over uploaded bundles."""

    def for_host(self, hostname: str) -> MtlsCertificateQuerySet:
        """Enabled bundles bound to ``hostname`` (already normalized)."""
        return self.filter(enabled=True, hostnames__hostname=hostname).distinct()

    def with_expiry(self) -> MtlsCertificateQuerySet:
        """Annotate ``expires_at``: the earliest not-after of the bundle's certificates."""
        return self.annotate(expires_at=Min("certificates__not_after"))

    def in_expiry_state(
        self, state: str, now: dt.datetime | None = None
    ) -> MtlsCertificateQuerySet:
        """Bundles in one :class:`ExpiryState` at ``now`` (needs :meth:`with_expiry`)."""
        now = now or timezone.now()
        if state == ExpiryState.EXPIRED:
            return self.filter(expires_at__lte=now)
        if state == ExpiryState.DAYS_14:
            return self.filter(expires_at__gt=now, expires_at__lt=now + dt.timedelta(days=14))
        if state == ExpiryState.DAYS_30:
            return self.filter(
                expires_at__gte=now + dt.timedelta(days=14),
                expires_at__lt=now + dt.timedelta(days=30),
            )
        if state == ExpiryState.OK:
            return self.filter(expires_at__gte=now + dt.timedelta(days=30))
        return self.none()


class MtlsCertificate(AuditedModel):
    """An uploaded CA bundle (a root plus any intermediates) and the hostnames it guards.

    ``pem`` holds the accepted certificates re-encoded in upload order, not the pasted text:
    uploads with a private key are refused before anything is stored, and comments between
    blocks are dropped, so nothing but certificates is ever persisted.
    """

    name = models.CharField("Name", max_length=100, unique=True)
    pem = models.TextField("Certificate content")
    enabled = models.BooleanField(
        default=True, help_text="A disabled certificate verifies no client; sessions end."
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
        """When the first certificate of the bundle expires (the bundle is no better).

        Uses the ``expires_at`` annotation of :meth:`MtlsCertificateQuerySet.with_expiry`
        when present (the list page), so a list of bundles costs no query per row.
        """
        if hasattr(self, "expires_at"):
            return self.expires_at
        return min((c.not_after for c in self.certificates.all()), default=None)

    def days_left(self, now: dt.datetime | None = None) -> int | None:
        """Whole days until the bundle expires (negative once expired); None when empty."""
        expiry = self.not_after
        if expiry is None:
            return None
        return (expiry - (now or timezone.now())).days

    def expires_within(self, days: int, now: dt.datetime | None = None) -> bool:
        """True when the bundle expires in less than ``days`` days (or has expired)."""
        expiry = self.not_after
        return expiry is not None and expiry < (now or timezone.now()) + dt.timedelta(days=days)

    def expiry_state(self, now: dt.datetime | None = None) -> ExpiryState:
        """Expired, within 14 days, within 30 days, or fine (the list's flag)."""
        now = now or timezone.now()
        expiry = self.not_after
        if expiry is None or expiry <= now:
            return ExpiryState.EXPIRED
        for state in (ExpiryState.DAYS_14, ExpiryState.DAYS_30):
            if self.expires_within(EXPIRY_WARNING_DAYS[state], now):
                return state
        return ExpiryState.OK

    @property
    def root(self) -> CaCertificate | None:
        """The bundle's first root certificate (uses prefetched certificates)."""
        return next((c for c in self.certificates.all() if c.is_root), None)

    def hostname_list(self) -> list[str]:
        """The associated hostnames, sorted (uses prefetched hostnames)."""
        return sorted(h.hostname for h in self.hostnames.all())


class CaCertificate(models.Model):
    """One certificate of an uploaded bundle, with the facts parsed from it.

    ``position`` is 1-based, in the order of the upload ("certificate #1"). Roots (self-signed)
    are trust anchors; the others are intermediates offered to the verifier as untrusted.
    """

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


def hostname_owners(hostnames: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
    """For each hostname, the (id, name) of every bundle bound to it, in one query.

    A hostname bound to several bundles is normal during CA rotation; the dashboard shows it.
    """
    owners: dict[str, list[tuple[int, str]]] = {}
    rows = AssociatedHostname.objects.filter(hostname__in=set(hostnames)).values_list(
        "hostname", "certificate_id", "certificate__name"
    )
    for hostname, pk, name in rows.order_by("certificate__name"):
        owners.setdefault(hostname, []).append((pk, name))
    return owners
