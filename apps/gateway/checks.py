"""System checks for the enforcement settings an operator can get wrong.

``accessctl.E001`` the middleware is missing; ``W002`` the certificate header is trusted from
everywhere; ``E003`` an unknown format or a bad CIDR; ``W004`` no dashboard hostname in
production; ``E005`` the middleware sits after sessions/CSRF; ``E006`` the staleness limit is
shorter than the check interval (every request would fail closed); ``E007`` a header name with
an underscore (servers drop those, see accessctl/gunicorn.conf.py); ``E008``
USE_X_FORWARDED_HOST is on (the Host header alone may select a hostname's policy);
``W009`` no trusted proxy at all (every certificate header is ignored); ``E010`` an unknown
ACCESSCTL_TOKEN_ALGORITHM (new keys are made for RS256).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from apps.base.conf import access_settings

MIDDLEWARE_PATH = "apps.gateway.middleware.AccessMiddleware"
_MUST_PRECEDE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
)


def check_middleware(**kwargs: Any) -> list[checks.CheckMessage]:
    """E001: the middleware is installed; E005: it runs before sessions and CSRF."""
    middleware = list(settings.MIDDLEWARE)
    if MIDDLEWARE_PATH not in middleware:
        return [
            checks.Error(
                "The access middleware is not installed: no hostname is enforced.",
                hint=f"Add {MIDDLEWARE_PATH!r} to MIDDLEWARE, right after WhiteNoise.",
                id="accessctl.E001",
            )
        ]
    position = middleware.index(MIDDLEWARE_PATH)
    late = [m for m in _MUST_PRECEDE if m in middleware[:position]]
    if late:
        return [
            checks.Error(
                f"{MIDDLEWARE_PATH} runs after {', '.join(late)}.",
                hint="A refused request must not reach sessions or CSRF: move it before them.",
                id="accessctl.E005",
            )
        ]
    return []


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """W002, E003, W004, E006, E007, W009 and E010 on the ACCESSCTL_* settings, as the settings
    object found them (``apps.base.conf``); E008 on Django's USE_X_FORWARDED_HOST."""
    found: list[checks.CheckMessage] = []
    for problem in access_settings().problems:
        level = checks.Error if problem.is_error else checks.Warning
        found.append(level(problem.message, hint=problem.hint or None, id=problem.check_id))
    if settings.USE_X_FORWARDED_HOST:
        found.append(
            checks.Error(
                "USE_X_FORWARDED_HOST is on: X-Forwarded-Host would select the policy.",
                hint="Turn it off; the TLS terminator must pass the original Host header.",
                id="accessctl.E008",
            )
        )
    return found


def register() -> None:
    """Register the checks (called from the app config's ready())."""
    checks.register(check_middleware, checks.Tags.security)
    checks.register(check_settings, checks.Tags.security)
