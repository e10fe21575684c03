"""Multi-step operations on the traffic records."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from apps.base.conf import access_settings
from apps.traffic.models import AccessLogEntry

_PRUNE_CHUNK = 5000


def access_log_prune(*, now: dt.datetime, older_than: dt.timedelta | None = None) -> int:
    """Delete decisions older than ``older_than`` (default: the retention setting), in chunks
    so that a large backlog never holds one long lock; the number deleted."""
    cutoff = now - (older_than or access_settings().access_log_retention)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                AccessLogEntry.objects.older_than(cutoff)
                .order_by("id")
                .values_list("id", flat=True)[:_PRUNE_CHUNK]
            )
            if not ids:
                return deleted
            deleted += AccessLogEntry.objects.filter(id__in=ids).delete()[0]
