"""Expiry alerts: which CA bundles and client certificates expire soon, the dashboard's banner,
and ``accessctl notify``'s emails (once per threshold, remembered in ``SentAlert``).

The CAs are the enabled Mutual TLS bundles (a bundle expires with its earliest certificate);
the client certificates are the inventory's leaves seen within the access log's retention
(a leaf nobody presents any more is no one's concern).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction

from accessctl.core.expiry import THRESHOLDS, describe_left, due_threshold
from apps.base.conf import access_settings
from apps.traffic.choices import AlertSubject
from apps.traffic.models import ClientCertificate, SentAlert
from apps.trust.models import MtlsCertificate

WARN_DAYS = THRESHOLDS[0]


@dataclass(frozen=True, slots=True)
class Expiring:
    """One certificate expiring within :data:`WARN_DAYS` days (or expired)."""

    kind: AlertSubject
    key: str  # the bundle's id, or the leaf's fingerprint
    name: str
    not_after: dt.datetime

    def line(self, now: dt.datetime) -> str:
        """``CA certificate "Devices CA" expires in 12 days (2026-05-01 00:00 UTC)``."""
        when = self.not_after.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f'{self.kind.label} "{self.name}" {describe_left(self.not_after, now)} ({when})'


def expiring(now: dt.datetime) -> list[Expiring]:
    """Every enabled CA bundle and recently seen leaf expiring within 30 days, soonest first."""
    horizon = now + dt.timedelta(days=WARN_DAYS)
    cas = (
        MtlsCertificate.objects.with_expiry()
        .filter(enabled=True, expires_at__lte=horizon)  # type: ignore[misc]
        .order_by("expires_at")
    )
    found = [
        Expiring(AlertSubject.CA, str(bundle.pk), bundle.name, expires_at)
        for bundle in cas
        # The annotation with_expiry() adds, which django-stubs cannot see.
        if (expires_at := getattr(bundle, "expires_at", None)) is not None
    ]
    leaves = ClientCertificate.objects.seen_since(now - access_settings().access_log_retention)
    found += [
        Expiring(AlertSubject.LEAF, c.fingerprint_sha256, str(c), c.not_after)
        for c in leaves.filter(not_after__lte=horizon).order_by("not_after")
    ]
    return sorted(found, key=lambda e: e.not_after)


def due(now: dt.datetime) -> list[tuple[Expiring, int]]:
    """The certificates to announce now, each with its threshold (days)."""
    candidates = expiring(now)
    announced: dict[tuple[str, str, dt.datetime], set[int]] = defaultdict(set)
    for sent in SentAlert.objects.filter(subject_key__in=[c.key for c in candidates]):
        announced[(sent.subject_kind, sent.subject_key, sent.not_after)].add(sent.threshold_days)
    result = []
    for item in candidates:
        threshold = due_threshold(
            item.not_after, now, announced[(item.kind.value, item.key, item.not_after)]
        )
        if threshold is not None:
            result.append((item, threshold))
    return result


def recipients() -> list[str]:
    """The addresses of the active operators who asked for expiry alerts."""
    users = get_user_model().objects.filter(
        is_active=True, is_staff=True, alert_preference__email_expiry_alerts=True
    )
    return sorted({u.email for u in users if u.email})


@dataclass(frozen=True, slots=True)
class NotifyResult:
    """What a run of ``accessctl notify`` did."""

    announced: list[tuple[Expiring, int]]
    recipients: list[str]


def _message(announced: list[tuple[Expiring, int]], now: dt.datetime) -> tuple[str, str]:
    soonest = min(threshold for _, threshold in announced)
    subject = f"accessctl: {len(announced)} certificate(s) expire within {soonest} day(s)"
    lines = [f"- {item.line(now)} [{threshold}-day alert]" for item, threshold in announced]
    body = (
        "These certificates expire soon:\n\n"
        + "\n".join(lines)
        + "\n\nCA certificates: replace them under Service Auth → Mutual TLS (upload the new one"
        " for the same hostnames first). Client certificates: renew them on their devices.\n"
        "You get this because you asked for expiry alerts (Expiry alerts, top right).\n"
    )
    return subject, body


def notify(*, now: dt.datetime, dry_run: bool = False) -> NotifyResult:
    """Email what is due to every recipient, then remember it (nothing is remembered when a
    send fails, so the next run tries again; nothing when nobody asked for alerts)."""
    announced, to = due(now), recipients()
    if not announced or not to or dry_run:
        return NotifyResult(announced, to)
    subject, body = _message(announced, now)
    with get_connection() as connection:
        for address in to:
            EmailMessage(
                subject, body, settings.DEFAULT_FROM_EMAIL, [address], connection=connection
            ).send()
    with transaction.atomic():
        SentAlert.objects.bulk_create(
            [
                SentAlert(
                    subject_kind=item.kind.value,
                    subject_key=item.key,
                    not_after=item.not_after,
                    threshold_days=threshold,
                    sent_at=now,
                )
                for item, threshold in announced
            ],
            ignore_conflicts=True,
        )
    return NotifyResult(announced, to)
