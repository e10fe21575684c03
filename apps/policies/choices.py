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
    """What a rule compares: the verified client certificate, or (identity rules, Allow and
    Block only) the person who logged in."""

    COMMON_NAME = RuleType.COMMON_NAME.value, "Common Name"
    VALID_CERTIFICATE = RuleType.VALID_CERTIFICATE.value, "Valid Certificate"
    SAN_DNS = RuleType.SAN_DNS.value, "SAN DNS name"
    SAN_EMAIL = RuleType.SAN_EMAIL.value, "SAN email"
    SAN_URI = RuleType.SAN_URI.value, "SAN URI"
    ORGANIZATIONAL_UNIT = RuleType.ORGANIZATIONAL_UNIT.value, "Organizational Unit"
    FINGERPRINT = RuleType.FINGERPRINT.value, "SHA-256 fingerprint"
    SPKI = RuleType.SPKI.value, "SPKI SHA-256 pin"
    EMAIL = RuleType.EMAIL.value, "Emails"
    EMAIL_DOMAIN = RuleType.EMAIL_DOMAIN.value, "Emails ending in"
    EVERYONE = RuleType.EVERYONE.value, "Everyone"
    LOGIN_METHOD = RuleType.LOGIN_METHOD.value, "Login method"
    OIDC_CLAIM = RuleType.OIDC_CLAIM.value, "OIDC claim"


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
# APP is missing on purpose: it means the application's own duration (None in the database).
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

# An application's session duration when none is chosen (Cloudflare's default too).
DEFAULT_APP_SESSION_SECONDS = SESSION_SECONDS[SessionDuration.HOURS_24]
_LABELS = {seconds: SessionDuration(key).label for key, seconds in SESSION_SECONDS.items()}


def session_seconds_of(key: str) -> int | None:
    """The seconds a dropdown / CLI spelling stands for; None for "Same as application"."""
    if key == SessionDuration.APP:
        return None
    return SESSION_SECONDS[key]


def session_key_of(seconds: int | None) -> str | None:
    """The dropdown / CLI spelling of a duration, or None when it has none (e.g. 45 minutes)."""
    if seconds is None:
        return SessionDuration.APP.value
    return next((key for key, value in SESSION_SECONDS.items() if value == seconds), None)


def go_duration(seconds: int) -> str:
    """A duration as Go writes it, as Cloudflare's API does: ``24h``, ``1h30m``, ``0s``."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs or not text else "")


def duration_label(seconds: int | None) -> str:
    """How the dashboard shows a duration: the dropdown's words, else the value as it is."""
    if seconds is None:
        return str(SessionDuration.APP.label)
    return str(_LABELS.get(seconds, go_duration(seconds)))
