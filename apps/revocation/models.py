"""Revocation: the current CRL of each CA certificate, and certificates revoked by hand."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.base.models import AuditedModel
from apps.revocation.choices import RevokedBy, WhenStale
from apps.trust.models import CaCertificate


class CertificateRevocationList(AuditedModel):
    """The current CRL of one CA certificate of an uploaded bundle (a root or an intermediate).

    Stored only once it was checked (``apps.revocation.services``): signed by ``ca``, well
    formed, direct, complete and not past its ``nextUpdate``. A new CRL for the same CA
    replaces it; an older one is refused. ``url`` is where ``accessctl certificates crl
    refresh`` fetches its successor (empty: uploaded by hand only). ``when_stale`` is the
    operator's choice for when ``next_update`` passes without a refresh.
    """

    ca = models.OneToOneField(CaCertificate, on_delete=models.CASCADE, related_name="crl")
    der = models.BinaryField()
    this_update = models.DateTimeField("this update")
    next_update = models.DateTimeField("next update")
    crl_number = models.CharField("CRL number", max_length=50, blank=True)
    revoked_count = models.PositiveIntegerField("revoked certificates")
    sha256 = models.CharField("SHA-256 of the CRL", max_length=64)
    url = models.URLField(
        "fetched from",
        max_length=500,
        blank=True,
        help_text="Where the refresh fetches the next CRL (empty: uploaded by hand only).",
    )
    when_stale = models.CharField(
        "when it is past its next update",
        max_length=8,
        choices=WhenStale.choices,
        default=WhenStale.REFUSE,
    )
    fetched_at = models.DateTimeField("last fetched", null=True, blank=True)
    last_error = models.TextField("last refresh error", blank=True)

    class Meta:
        verbose_name = "CRL"
        verbose_name_plural = "Revocation lists (CRLs)"
        ordering = ["ca__bundle__name", "ca__position"]

    def __str__(self) -> str:
        return f"CRL of {self.ca.subject}"

    def is_stale(self, now: dt.datetime | None = None) -> bool:
        """Past its ``nextUpdate``: refused or accepted with a warning, as chosen."""
        return (now or timezone.now()) >= self.next_update

    def refresh_due(self, now: dt.datetime | None = None) -> bool:
        """Halfway from ``thisUpdate`` to ``nextUpdate``, a fetched CRL is refreshed: a
        failing CA server then has the second half of the CRL's life to recover."""
        halfway = self.this_update + (self.next_update - self.this_update) / 2
        return bool(self.url) and (now or timezone.now()) >= halfway


def stale_crl_warnings(now: dt.datetime | None = None) -> list[str]:
    """One sentence per CRL past its ``nextUpdate``, for the console's home page: its clients
    are refused (an outage) or accepted without a current check (a risk), as chosen."""
    now = now or timezone.now()
    stale = CertificateRevocationList.objects.filter(next_update__lte=now).select_related(
        "ca__bundle"
    )
    warnings = []
    for crl in stale.defer("der").order_by("next_update"):
        what = (
            "its clients are accepted without a current revocation check"
            if crl.when_stale == WhenStale.ACCEPT
            else "its clients are refused"
        )
        error = f" Last refresh error: {crl.last_error}" if crl.last_error else ""
        warnings.append(
            f"The CRL of {crl.ca.subject} ({crl.ca.bundle.name}) is past its next update "
            f"({crl.next_update:%Y-%m-%d %H:%M} UTC): {what}.{error}"
        )
    return warnings


class RevocationQuerySet(models.QuerySet["Revocation"]):
    """Lookups over revocations."""

    def active(self) -> RevocationQuerySet:
        """Not lifted: enforced."""
        return self.filter(lifted_at__isnull=True)


class Revocation(AuditedModel):
    """A certificate revoked by an operator without a CRL (a lost laptop), by serial number
    or SHA-256 fingerprint (``value``, lowercase hex as normalized by
    ``accessctl.core.revocation``), with why. Lifting keeps the row (who lifted it, when)."""

    kind = models.CharField("revoked by", max_length=12, choices=RevokedBy.choices)
    value = models.CharField(
        "serial number or fingerprint", max_length=64, help_text="Hexadecimal; colons allowed."
    )
    reason = models.CharField("why", max_length=200, blank=True)
    lifted_at = models.DateTimeField("lifted", null=True, blank=True, editable=False)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    objects = RevocationQuerySet.as_manager()

    class Meta:
        verbose_name = "revoked certificate"
        verbose_name_plural = "Revoked certificates"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"],
                condition=models.Q(lifted_at__isnull=True),
                name="revocation_active_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"

    @property
    def active(self) -> bool:
        return self.lifted_at is None
