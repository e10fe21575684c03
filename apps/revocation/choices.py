"""Enumerations of revocation."""

from __future__ import annotations

from django.db import models


class WhenStale(models.TextChoices):
    """What happens to a CA's clients once its CRL is past ``nextUpdate`` and could not be
    refreshed. Refusing is the default: a CRL that cannot be refreshed may be hiding a
    revocation, and a guard that keeps letting in what it can no longer vouch for fails open.
    """

    REFUSE = "refuse", "Refuse its clients (fail closed)"
    ACCEPT = "accept", "Accept its clients, with a warning on the dashboard"


class RevokedBy(models.TextChoices):
    """How an operator's revocation names the certificate."""

    SERIAL = "serial", "Serial number"
    FINGERPRINT = "fingerprint", "SHA-256 fingerprint"
