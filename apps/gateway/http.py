"""The Django request as the gateway leaves it for the views: typed attributes, no ignores."""

from __future__ import annotations

from django.http import HttpRequest

from accessctl.core.request import Access
from accessctl.core.tokens import SessionClaims


class GuardedRequest(HttpRequest):
    """An ``HttpRequest`` after ``AccessMiddleware``: views annotate their request with this.

    ``access`` is None on a hostname that is not enforced (a dashboard hostname, or one no
    enabled policy guards); ``access_session`` is the session token that let the request
    through, when it was a session rather than a certificate.
    """

    access: Access | None
    access_session: SessionClaims | None
