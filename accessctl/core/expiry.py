"""When a certificate's expiry is announced: at 30, 14, 7 and 1 days before it, once each.

A run of ``accessctl notify`` finds, for every certificate, the *threshold* it is within now
(the smallest of :data:`THRESHOLDS` not shorter than the time left; an expired certificate is
within 1 day). It is announced unless that threshold, or a smaller one, was already: a
certificate first seen 10 days before expiry gets the 14-day alert, never the 30-day one
afterwards, and each later run that finds it still within 14 days sends nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

THRESHOLDS = (30, 14, 7, 1)  # days before expiry, largest first
DAY = dt.timedelta(days=1)


def threshold_within(not_after: dt.datetime, now: dt.datetime) -> int | None:
    """The smallest threshold (days) the time left is within, or None beyond 30 days."""
    left = not_after - now
    within = [days for days in THRESHOLDS if left <= days * DAY]
    return min(within) if within else None


def due_threshold(
    not_after: dt.datetime, now: dt.datetime, announced: Collection[int]
) -> int | None:
    """The threshold to announce now, or None (beyond 30 days, or announced already)."""
    threshold = threshold_within(not_after, now)
    if threshold is None or any(days <= threshold for days in announced):
        return None
    return threshold


def describe_left(not_after: dt.datetime, now: dt.datetime) -> str:
    """``"expires in 12 days"``, ``"expires within a day"``, ``"expired 3 days ago"``."""
    left = not_after - now
    if left <= dt.timedelta(0):
        days = (-left).days
        return f"expired {days} day{'s' if days != 1 else ''} ago" if days else "expired today"
    if left < DAY:
        return "expires within a day"
    return f"expires in {left.days} day{'s' if left.days != 1 else ''}"
