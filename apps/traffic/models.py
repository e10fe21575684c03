"""What traffic leaves behind: the access log, the inventory of client certificates, the
operators' alert preferences and the alerts already sent.

Rows of the first two are written only by the recorder's background thread
(``apps.traffic.writer``), never on the request path.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.traffic.choices import AlertSubject, Decision
from apps.trust.choices import ExpiryState, expiry_state_at, expiry_state_filter
from apps.trust.models import MtlsCertificate


class AccessLogQuerySet(models.QuerySet["AccessLogEntry"]):
    """Lookups over the access log."""

    def older_than(self, cutoff: dt.datetime) -> AccessLogQuerySet:
        """Decisions made before ``cutoff`` (what pruning removes)."""
        return self.filter(time__lt=cutoff)


class AccessLogEntry(models.Model):
    """One access decision: the dashboard's copy of the ``accessctl.access`` log line."""

    time = models.DateTimeField(db_index=True)
    hostname = models.CharField(max_length=253, db_index=True)
    path = models.CharField(max_length=1024)
    method = models.CharField(max_length=16, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, db_index=True)
    reason = models.CharField("reason code", max_length=64, db_index=True)
    detail = models.CharField(max_length=300, blank=True)
    application_id = models.BigIntegerField(null=True, blank=True)
    application_name = models.CharField("Application", max_length=200, blank=True)
    policy_id = models.BigIntegerField(null=True, blank=True)
    policy_name = models.CharField("Policy", max_length=200, blank=True)
    cert_common_name = models.CharField("Certificate CN", max_length=256, blank=True)
    cert_fingerprint = models.CharField(
        "Certificate SHA-256", max_length=64, blank=True, db_index=True
    )
    cert_verified = models.BooleanField("Certificate verified", default=False)
    # Filled once the identity layer exists (issue 12); empty for certificate-only decisions.
    identity_email = models.CharField("Identity email", max_length=254, blank=True)
    client_ip = models.CharField("Client IP", max_length=64, blank=True)
    request_id = models.CharField("Request id", max_length=64, blank=True)

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        verbose_name = "access log entry"
        verbose_name_plural = "access log"
        ordering = ["-time", "-id"]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.decision} {self.hostname}{self.path}"


class ClientCertificateQuerySet(models.QuerySet["ClientCertificate"]):
    """Lookups over the inventory."""

    def in_expiry_state(
        self, state: str, now: dt.datetime | None = None
    ) -> ClientCertificateQuerySet:
        """Leaves in one :class:`~apps.trust.choices.ExpiryState` at ``now``."""
        condition = expiry_state_filter("not_after", state, now or timezone.now())
        return self.none() if condition is None else self.filter(condition)

    def seen_since(self, since: dt.datetime) -> ClientCertificateQuerySet:
        """Leaves presented at or after ``since``."""
        return self.filter(last_seen__gte=since)


class ClientCertificate(models.Model):
    """A distinct verified client certificate (leaf) seen in traffic, by SHA-256 fingerprint."""

    fingerprint_sha256 = models.CharField("SHA-256 fingerprint", max_length=64, unique=True)
    subject = models.TextField()
    common_name = models.CharField("Common name", max_length=256, blank=True, db_index=True)
    san_dns = models.JSONField("DNS names", default=list, blank=True)
    san_emails = models.JSONField("Email addresses", default=list, blank=True)
    san_uris = models.JSONField("URIs", default=list, blank=True)
    issuer = models.TextField()
    ca = models.ForeignKey(
        MtlsCertificate,
        verbose_name="uploaded CA",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="client_certificates",
    )
    serial = models.CharField("Serial number", max_length=64, db_index=True)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField("Expires", db_index=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    request_count = models.BigIntegerField("Requests", default=0)

    objects = ClientCertificateQuerySet.as_manager()

    class Meta:
        verbose_name = "client certificate"
        verbose_name_plural = "client certificates"
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return self.common_name or self.subject or self.fingerprint_sha256

    def expiry_state(self, now: dt.datetime | None = None) -> ExpiryState:
        """Expired, within 14 days, within 30 days, or fine (the list's flag)."""
        return expiry_state_at(self.not_after, now or timezone.now())


class ClientCertificateHostname(models.Model):
    """A hostname a client certificate reached, with how often and when."""

    certificate = models.ForeignKey(
        ClientCertificate, on_delete=models.CASCADE, related_name="hostnames"
    )
    hostname = models.CharField(max_length=253, db_index=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    request_count = models.BigIntegerField("Requests", default=0)

    class Meta:
        verbose_name = "hostname reached"
        verbose_name_plural = "hostnames reached"
        ordering = ["hostname"]
        constraints = [
            models.UniqueConstraint(
                fields=["certificate", "hostname"], name="traffic_certificate_hostname_once"
            )
        ]

    def __str__(self) -> str:
        return self.hostname


class AlertPreference(models.Model):
    """Whether an operator wants the expiry alerts of ``accessctl notify`` by email."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preference"
    )
    email_expiry_alerts = models.BooleanField(
        "Email me expiry alerts",
        default=False,
        help_text="CA and client certificates expiring within 30, 14, 7 and 1 days.",
    )

    class Meta:
        verbose_name = "expiry alert preference"
        verbose_name_plural = "expiry alerts"

    def __str__(self) -> str:
        return f"{self.user}: {'on' if self.email_expiry_alerts else 'off'}"


class SentAlert(models.Model):
    """An expiry threshold already announced for one certificate: never announced twice."""

    subject_kind = models.CharField(max_length=8, choices=AlertSubject.choices)
    subject_key = models.CharField(max_length=64)  # the CA bundle's id, or the leaf's fingerprint
    not_after = models.DateTimeField()  # a renewed certificate (new expiry) is a new subject
    threshold_days = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()

    class Meta:
        verbose_name = "expiry alert sent"
        verbose_name_plural = "expiry alerts sent"
        constraints = [
            models.UniqueConstraint(
                fields=["subject_kind", "subject_key", "not_after", "threshold_days"],
                name="traffic_alert_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject_kind} {self.subject_key} at {self.threshold_days} days"
