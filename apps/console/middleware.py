"""Console sessions: the security headers of every dashboard page (a strict
Content-Security-Policy among them), and the idle timeout.

Only the dashboard's URLs (``/admin/``) are touched: the pages accessctl serves on guarded
hostnames (the identity page, refusals) are answered before this middleware or keep their
own headers, and their one inline stylesheet is theirs. Placed after the messages middleware
(after ``AuthenticationMiddleware`` and django-otp's), so ``request.user`` is known and the
signed-out message can be left.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from apps.base.conf import access_settings
from apps.gateway.middleware import dashboard_prefix

# When the session was last used (seconds since the epoch), kept in the session itself.
LAST_SEEN_KEY = "accessctl_console_last_seen"
# The stamp is rewritten at most this often (seconds): not a session write per request.
LAST_SEEN_GRANULARITY = 30
SIGNED_OUT = "You were signed out after {minutes} minutes without activity; sign in again."

# No inline script or style anywhere in the console (tests/browser/test_console_security.py
# listens for violations): everything comes from the console's own origin.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Django's SecurityMiddleware and XFrameOptionsMiddleware set the others (nosniff,
# Referrer-Policy, Cross-Origin-Opener-Policy, X-Frame-Options DENY, HSTS in production).
CONSOLE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class ConsoleSessionMiddleware:
    """Security headers on the dashboard's responses; a signed-in session unused for longer
    than ACCESSCTL_CONSOLE_IDLE_MINUTES is signed out before its request is served."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        prefix = dashboard_prefix()
        if prefix is None or not request.path_info.startswith(prefix):
            return self.get_response(request)
        if request.user.is_authenticated:
            sign_out_if_idle(request, now=time.time())
        response = self.get_response(request)
        for header, value in CONSOLE_HEADERS.items():
            response.headers.setdefault(header, value)
        return response


def sign_out_if_idle(request: HttpRequest, *, now: float) -> None:
    """Sign the session out if it was last used longer ago than the idle timeout; otherwise
    remember that it is used now (at most every LAST_SEEN_GRANULARITY seconds)."""
    timeout = access_settings().console_idle_timeout.total_seconds()
    session = request.session
    last_seen = session.get(LAST_SEEN_KEY)
    if isinstance(last_seen, int | float) and now - last_seen > timeout:
        logout(request)  # a new, empty session: the message below goes into it
        messages.warning(request, SIGNED_OUT.format(minutes=round(timeout / 60)))
        return
    if not isinstance(last_seen, int | float) or now - last_seen >= LAST_SEEN_GRANULARITY:
        session[LAST_SEEN_KEY] = now
