"""Choices of the policy models, tied to the pure core's enums so the values never drift."""

from __future__ import annotations

from django.db import models

from accessctl.core.policy import Decision, RuleGroup, RuleType


class DecisionChoices(models.TextChoices):
    """What a matching policy does; values are Cloudflare's API names (core ``Decision``)."""

    NON_IDENTITY = Decision.NON_IDENTITY.value, "Non Identity (Service Auth)"
    ALLOW = Decision.ALLOW.value, "Allow"
    BLOCK = Decision.BLOCK.value, "Block"
    BYPASS = Decision.BYPASS.value, "Bypass"


class RuleGroupChoices(models.TextChoices):
    """Include: any rule matches. Require: every rule matches. Exclude: no rule matches."""

    INCLUDE = RuleGroup.INCLUDE.value, "Include"
    REQUIRE = RuleGroup.REQUIRE.value, "Require"
    EXCLUDE = RuleGroup.EXCLUDE.value, "Exclude"


class RuleTypeChoices(models.TextChoices):
    """What a rule compares with the verified client certificate."""

    COMMON_NAME = RuleType.COMMON_NAME.value, "Common Name"
    VALID_CERTIFICATE = RuleType.VALID_CERTIFICATE.value, "Valid Certificate"
    SAN_DNS = RuleType.SAN_DNS.value, "SAN DNS name"
    SAN_EMAIL = RuleType.SAN_EMAIL.value, "SAN email"
    SAN_URI = RuleType.SAN_URI.value, "SAN URI"
    ORGANIZATIONAL_UNIT = RuleType.ORGANIZATIONAL_UNIT.value, "Organizational Unit"
    FINGERPRINT = RuleType.FINGERPRINT.value, "SHA-256 fingerprint"
    SPKI = RuleType.SPKI.value, "SPKI SHA-256 pin"


class SessionDuration(models.TextChoices):
    """How long a session lasts after a certificate was accepted (values are CLI spellings)."""

    APP = "app", "Same as application session timeout"
    NO_DURATION = "no_duration", "No duration, expires immediately"
    MINUTES_15 = "15m", "15 minutes"
    MINUTES_30 = "30m", "30 minutes"
    HOUR_1 = "1h", "1 hour"
    HOURS_6 = "6h", "6 hours"
    HOURS_12 = "12h", "12 hours"
    HOURS_24 = "24h", "24 hours"
    WEEK_1 = "1w", "1 week"
    MONTH_1 = "1m", "1 month"


_HOUR = 3600
# APP is missing on purpose: it is read from settings when used (ACCESSCTL_APP_SESSION_DURATION).
SESSION_SECONDS: dict[str, int] = {
    SessionDuration.NO_DURATION: 0,
    SessionDuration.MINUTES_15: 15 * 60,
    SessionDuration.MINUTES_30: 30 * 60,
    SessionDuration.HOUR_1: _HOUR,
    SessionDuration.HOURS_6: 6 * _HOUR,
    SessionDuration.HOURS_12: 12 * _HOUR,
    SessionDuration.HOURS_24: 24 * _HOUR,
    SessionDuration.WEEK_1: 7 * 24 * _HOUR,
    SessionDuration.MONTH_1: 30 * 24 * _HOUR,
}
