"""Enumerations of the traffic records."""

from __future__ import annotations

from django.db import models


class Decision(models.TextChoices):
    """What happened to a request, as the access log line's ``decision`` says it.

    ``bypass`` is an allowed request a Bypass policy let through (Cloudflare leaves those out
    of its logs; accessctl keeps them).
    """

    ALLOW = "allow", "Allow"
    BYPASS = "bypass", "Bypass"
    DENY = "deny", "Deny"
    MISDIRECTED = "misdirected", "Misdirected (421)"
    UNAVAILABLE = "unavailable", "Unavailable (503)"


class AlertSubject(models.TextChoices):
    """What an expiry alert is about."""

    CA = "ca", "CA certificate"
    LEAF = "leaf", "Client certificate"
