"""Traffic records for the access log and inventory tests: requests recorded and written, or
rows made directly (old ones, for pruning)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from apps.traffic.models import AccessLogEntry, ClientCertificate
from apps.traffic.recorder import recorder
from tests.factories.hosts import HOST


def written() -> int:
    """Write what the recorder holds, as its background thread would; how many records."""
    return recorder.flush()


def log_entry(*, age: dt.timedelta = dt.timedelta(0), **fields: object) -> AccessLogEntry:
    """An access log row made ``age`` ago (defaults: a refused request without certificate)."""
    values: dict[str, object] = {
        "time": timezone.now() - age,
        "hostname": HOST,
        "path": "/",
        "method": "GET",
        "decision": "deny",
        "reason": "certificate_required",
        "client_ip": "198.51.100.7",
        "request_id": "req-0000000000001",
        **fields,
    }
    return AccessLogEntry.objects.create(**values)


def seen_leaf(common_name: str, *, expires_in: dt.timedelta, **fields: object) -> ClientCertificate:
    """An inventory row for a leaf seen just now that expires ``expires_in`` from now."""
    now = timezone.now()
    values: dict[str, object] = {
        "fingerprint_sha256": f"{abs(hash(common_name)):064x}"[-64:],
        "subject": f"CN={common_name}",
        "common_name": common_name,
        "issuer": "CN=accessctl Test Devices",
        "serial": "1a2b",
        "not_before": now - dt.timedelta(days=300),
        "not_after": now + expires_in,
        "first_seen": now,
        "last_seen": now,
        "request_count": 1,
        **fields,
    }
    return ClientCertificate.objects.create(**values)
