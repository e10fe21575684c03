"""Enumerations of the trust store."""

from __future__ import annotations

import datetime as dt

from django.db import models


class ExpiryState(models.TextChoices):
    """How close a CA bundle is to expiry, as flagged in the list (CSS class ``expiry-<value>``).

    The thresholds are Cloudflare's alert days: 30 and 14 days before expiry.
    """

    EXPIRED = "expired", "Expired"
    DAYS_14 = "14", "Expires within 14 days"
    DAYS_30 = "30", "Expires within 30 days"
    OK = "ok", "Valid for 30 days or more"


EXPIRY_WARNING_DAYS = {ExpiryState.DAYS_14: 14, ExpiryState.DAYS_30: 30}


def expiry_state_at(expiry: dt.datetime | None, now: dt.datetime) -> ExpiryState:
    """The :class:`ExpiryState` of a certificate expiring at ``expiry`` (None: expired)."""
    if expiry is None or expiry <= now:
        return ExpiryState.EXPIRED
    for state in (ExpiryState.DAYS_14, ExpiryState.DAYS_30):
        if expiry < now + dt.timedelta(days=EXPIRY_WARNING_DAYS[state]):
            return state
    return ExpiryState.OK


def expiry_state_filter(field: str, state: str, now: dt.datetime) -> models.Q | None:
    """The filter on the date ``field`` matching one :class:`ExpiryState` at ``now`` (None
    for an unknown state)."""
    days14, days30 = now + dt.timedelta(days=14), now + dt.timedelta(days=30)
    ranges: dict[str, dict[str, dt.datetime]] = {
        ExpiryState.EXPIRED: {"lte": now},
        ExpiryState.DAYS_14: {"gt": now, "lt": days14},
        ExpiryState.DAYS_30: {"gte": days14, "lt": days30},
        ExpiryState.OK: {"gte": days30},
    }
    bounds = ranges.get(state)
    if bounds is None:
        return None
    return models.Q(**{f"{field}__{op}": when for op, when in bounds.items()})
