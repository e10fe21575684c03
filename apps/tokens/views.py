"""The Access endpoints under /cdn-cgi/access/: the JWKS, logout and get-identity.

They answer on every hostname, guarded ones included: the middleware lets /cdn-cgi/access/
through without enforcement, so an origin can always fetch the keys, and a client without a
certificate can still log out or ask who it is.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from accessctl.core.hostnames import host_from_header
from accessctl.core.snapshot import HostConfig
from apps.tokens import keys, sessions

logger = logging.getLogger(__name__)

# Origins may cache the key set as long as a new key is published before it signs.
JWKS_MAX_AGE = int(keys.PUBLISH_AHEAD.total_seconds())


@require_safe
def certs(request: HttpRequest) -> JsonResponse:
    """The public signing keys as a JWKS, with ``public_cert``/``public_certs`` like Cloudflare."""
    now = timezone.now()
    try:
        ring = keys.key_ring(now=now)
    except keys.SigningKeyUnavailable as exc:
        return _unavailable(exc)
    response = JsonResponse(ring.jwks(now, keys.overlap()))
    response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return response


def _unavailable(exc: Exception) -> JsonResponse:
    logger.error("access endpoint unavailable: %s", exc)
    response = JsonResponse({"error": "unavailable"}, status=503)
    response["Retry-After"] = "1"
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_GET
def logout(request: HttpRequest) -> JsonResponse:
    """End the session on this hostname: the cookie is cleared (Max-Age=0, same attributes)."""
    response = JsonResponse({"logged_out": True})
    sessions.clear_session_cookie(response)
    return response


class _NoConfiguration(Exception):
    """The configuration cannot be confirmed right now (the middleware answers 503 too)."""


def _host_config(request: HttpRequest) -> HostConfig | None:
    # Imported here: the gateway app imports the trust and policy models.
    from apps.gateway.config import current_snapshot

    snapshot = current_snapshot()
    if snapshot is None:
        raise _NoConfiguration("configuration not confirmed")
    hostname = host_from_header(request.META.get("HTTP_HOST", ""))
    return snapshot.host(hostname) if hostname else None


@never_cache
@require_safe
def get_identity(request: HttpRequest) -> JsonResponse:
    """Who the current session belongs to: common name, certificate fingerprint, expiry; 401
    (and the cookie cleared, if it held an invalid token) when there is no valid session."""
    token = request.COOKIES.get(sessions.COOKIE_NAME)
    try:
        host = _host_config(request)
        check = sessions.session_check(token, host) if host else sessions.SessionCheck()
    except (_NoConfiguration, keys.SigningKeyUnavailable) as exc:
        return _unavailable(exc)
    if check.claims is None:
        reason = check.error.reason if check.error else "no_session"
        response = JsonResponse({"error": reason}, status=401)
        if check.error is not None:
            sessions.clear_session_cookie(response)
        return response
    claims = check.claims
    return JsonResponse(
        {
            "common_name": claims.common_name,
            "fingerprint_sha256": claims.subject,
            "expires_at": claims.expires_at.isoformat(),
            "issued_at": claims.issued_at.isoformat(),
            "audience": claims.audience,
        }
    )
