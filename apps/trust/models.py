"""The trust store: uploaded CA bundles, their parsed certificates and bound hostnames."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import models
from django.db.models import Min
from django.utils import timezone

from apps.base.models import AuditedModel
from apps.trust.choices import ExpiryState, expiry_state_at, expiry_state_filter


class MtlsCertificateQuerySet(models.QuerySet["MtlsCertificate"]):
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
        condition = expiry_state_filter("expires_at", state, now or timezone.now())
        return self.none() if condition is None else self.filter(condition)


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
            # Min() over a DateTimeField: None for a bundle without certificates.
            expires_at: dt.datetime | None = self.expires_at
            return expires_at
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
        return expiry_state_at(self.not_after, now or timezone.now())

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


class HostnameSetting(models.Model):
    """Per-hostname mTLS settings (Cloudflare's ``access/certificates/settings``).

    ``client_certificate_forwarding``: the verified client certificate is passed to the origin
    as ``Cf-Client-Cert-Der-Base64`` and ``Cf-Client-Cert-Sha256``. ``china_network`` is
    accepted and stored for scripts written for Cloudflare; it has no effect here. A hostname
    without a row has both off. Part of the gateway's snapshot, never read per request.
    """

    hostname = models.CharField(max_length=253, unique=True)
    china_network = models.BooleanField(default=False, help_text="Stored only; no effect.")
    client_certificate_forwarding = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "hostname setting"
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname
