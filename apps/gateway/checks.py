"""System checks for the enforcement settings an operator can get wrong.

``accessctl.E001`` the middleware is missing; ``W002`` the certificate header is trusted from
everywhere; ``E003`` an unknown format or a bad CIDR; ``W004`` no dashboard hostname in
production; ``E005`` the middleware sits after sessions/CSRF; ``E006`` the staleness limit is
shorter than the check interval (every request would fail closed); ``E007`` a header name with
an underscore (servers drop those, see accessctl/gunicorn.conf.py); ``E008``
USE_X_FORWARDED_HOST is on (the Host header alone may select a hostname's policy);
``W009`` no trusted proxy at all (every certificate header is ignored).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core import checks

from accessctl.core.forwarded import FORMATS

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
    """W002, E003, W004, E006, E007, E008 and W009 on the settings."""
    errors: list[checks.CheckMessage] = []
    if not settings.ACCESSCTL_TRUSTED_PROXIES:
        errors.append(
            checks.Warning(
                "ACCESSCTL_TRUSTED_PROXIES is empty: every client-certificate header is ignored"
                " and every guarded hostname refuses every request.",
                hint="List the TLS terminator's addresses (default: loopback).",
                id="accessctl.W009",
            )
        )
    for entry in settings.ACCESSCTL_TRUSTED_PROXIES:
        try:
            network = ipaddress.ip_network(str(entry).strip(), strict=False)
        except ValueError:
            errors.append(
                checks.Error(
                    f"ACCESSCTL_TRUSTED_PROXIES: {entry!r} is not an address or CIDR.",
                    hint="Use addresses or CIDRs such as 10.0.0.5/32 or fd00::/64.",
                    id="accessctl.E003",
                )
            )
            continue
        if network.prefixlen == 0:
            errors.append(
                checks.Warning(
                    f"ACCESSCTL_TRUSTED_PROXIES contains {entry!r}: any client can forge the"
                    " client-certificate header.",
                    hint="List only the TLS terminator's addresses.",
                    id="accessctl.W002",
                )
            )
    fmt = settings.ACCESSCTL_CLIENT_CERT_FORMAT
    if fmt not in FORMATS:
        errors.append(
            checks.Error(
                f"ACCESSCTL_CLIENT_CERT_FORMAT {fmt!r} is unknown.",
                hint=f"One of: {', '.join(FORMATS)}.",
                id="accessctl.E003",
            )
        )
    for name in ("ACCESSCTL_CLIENT_CERT_HEADER", "ACCESSCTL_SNI_HEADER"):
        if "_" in getattr(settings, name):
            errors.append(
                checks.Error(
                    f"{name} contains an underscore.",
                    hint="Proxies and gunicorn drop such headers; Django cannot tell '_' from"
                    " '-'. Use dashes (X-SSL-Client-Cert).",
                    id="accessctl.E007",
                )
            )
    if getattr(settings, "PRODUCTION", False) and not settings.ACCESSCTL_DASHBOARD_HOSTS:
        errors.append(
            checks.Warning(
                "ACCESSCTL_DASHBOARD_HOSTS is empty: a policy mistake can lock you out of the"
                " dashboard.",
                hint="Set it to the hostname(s) that serve the dashboard.",
                id="accessctl.W004",
            )
        )
    if settings.USE_X_FORWARDED_HOST:
        errors.append(
            checks.Error(
                "USE_X_FORWARDED_HOST is on: X-Forwarded-Host would select the policy.",
                hint="Turn it off; the TLS terminator must pass the original Host header.",
                id="accessctl.E008",
            )
        )
    interval = float(settings.ACCESSCTL_CONFIG_CHECK_INTERVAL)
    if float(settings.ACCESSCTL_CONFIG_MAX_STALENESS) < interval:
        errors.append(
            checks.Error(
                "ACCESSCTL_CONFIG_MAX_STALENESS must not be shorter than"
                " ACCESSCTL_CONFIG_CHECK_INTERVAL, or guarded hostnames answer 503 between"
                " checks.",
                id="accessctl.E006",
            )
        )
    return errors


def register() -> None:
    """Register the checks (called from the app config's ready())."""
    checks.register(check_middleware, checks.Tags.security)
    checks.register(check_settings, checks.Tags.security)
