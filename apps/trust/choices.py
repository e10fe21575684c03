"""Enumerations of the trust store."""

from __future__ import annotations

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
