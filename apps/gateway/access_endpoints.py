"""The Access endpoints under /cdn-cgi/access/: the JWKS, logout, get-identity and authorized.

They answer on every hostname, guarded ones included: the middleware lets /cdn-cgi/access/
through without enforcement, so an origin can always fetch the keys, and a client without a
certificate can still log out or ask who it is. ``authorized`` is the last step of a login
(``apps.identity``): it redeems the single-use code on the application's own hostname and
sets that application's ``CF_Authorization``.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from accessctl.core.hostnames import host_from_header
from accessctl.core.policy import evaluate
from accessctl.core.reasons import Reason
from accessctl.core.request import Verdict
from accessctl.core.revocation import Revocations
from accessctl.core.snapshot import ApplicationConfig
from accessctl.core.tokens import SessionClaims, claimed_audience
from apps.base.backends import backends
from apps.gateway import config
from apps.gateway.decision import decide, incoming
from apps.gateway.logging import log_ruling
from apps.gateway.responses import already_logged, refusal
from apps.tokens import keys, sessions
from apps.tokens.handoff import handoff_redeem

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
    # No line per request: the backend outage behind it is logged once per transition
    # (apps.base.backends), with this refusal in its count.
    backends.refused()
    response = JsonResponse({"error": "unavailable"}, status=503)
    response["Retry-After"] = "1"
    response["Cache-Control"] = "no-store"
    already_logged(response)
    return response


@never_cache
@require_GET
def logout(request: HttpRequest) -> HttpResponseBase:
    """End the session: the cookie is cleared (Max-Age=0, same attributes) and, for an identity
    session, its login is ended on every application and every node (within a second)."""
    token = request.COOKIES.get(sessions.COOKIE_NAME)
    claims = _any_session(request, token)
    if claims is not None and claims.identity_nonce:
        sessions.session_end(identity_nonce=claims.identity_nonce)
    response: HttpResponseBase
    if "text/html" in request.META.get("HTTP_ACCEPT", ""):
        response = render(
            request,
            "gateway/login_problem.html",
            {
                "status_text": "Signed out",
                "title": "You are signed out",
                "message": "Your session has ended on every application.",
            },
        )
    else:
        response = JsonResponse({"logged_out": True})
    sessions.clear_session_cookie(response)
    return response


def _any_session(request: HttpRequest, token: str | None) -> SessionClaims | None:
    """The valid session ``token`` is on this hostname: an application's, or the global one of
    the authentication hostname."""
    if not token:
        return None
    try:
        application, revocations = _application(request, token)
        if application is not None:
            check = sessions.session_check(token, application, revocations=revocations)
            if check.claims is not None:
                return check.claims
        return sessions.org_session_check(token)
    except (_NoConfiguration, keys.SigningKeyUnavailable):
        return None


def _problem(request: HttpRequest, title: str, message: str, status: int = 403) -> HttpResponse:
    response = render(
        request,
        "gateway/login_problem.html",
        {"title": title, "message": message},
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


EXPIRED_LINK = (
    "This sign-in link has expired or was already used",
    "Sign-in links work once and only for a few seconds. Open the application again to sign in.",
)
CERTIFICATE_NEEDED = (
    "A client certificate is required",
    "You signed in, but this application also needs this device's client certificate, and "
    "none that it trusts was presented.",
)
NO_ACCESS = (
    "That account does not have access",
    "You signed in, but no policy of this application lets this account (with this device's "
    "certificate, if it needs one) in.",
)


@never_cache
@require_GET
def authorized(request: HttpRequest) -> HttpResponseBase:
    """The login's last step, on the application's hostname: redeem the single-use code, decide
    with the person it carries and this request's certificate, set ``CF_Authorization`` and
    go back to the page the person asked for (always on this application)."""
    handoff = handoff_redeem(request.GET.get("code", ""))
    host = request.get_host()
    hostname = host_from_header(host)
    if handoff is None or hostname is None or handoff.hostname != hostname:
        return _problem(request, *EXPIRED_LINK)
    back = urlsplit(handoff.redirect_url)
    ruling = decide(incoming(request, host=host, path=back.path or "/"))
    application = ruling.application
    facts = ruling.facts
    if ruling.verdict not in {Verdict.ALLOW, Verdict.DENY} or facts is None:
        log_ruling(incoming(request, host=host, path=back.path or "/"), ruling)
        return refusal(request, ruling)
    if application is None or application.audience != handoff.audience:
        return _problem(request, *EXPIRED_LINK)
    outcome = evaluate(application.policies, dataclasses.replace(facts, person=handoff.person))
    ruling = dataclasses.replace(
        ruling,
        verdict=Verdict.ALLOW if outcome.allowed else Verdict.DENY,
        reason=outcome.reason,
        outcome=outcome,
        access=None,
        detail=f"login email={handoff.person.email}",
    )
    log_ruling(incoming(request, host=host, path=back.path or "/"), ruling)
    if not outcome.allowed:
        needed = facts.identity is None and outcome.reason != Reason.NO_MATCHING_POLICY
        return _problem(request, *(CERTIFICATE_NEEDED if needed else NO_ACCESS))
    try:
        issued = sessions.identity_session_issue(
            application=application,
            person=handoff.person,
            identity_nonce=handoff.identity_nonce,
            outcome=outcome,
            certificate=facts.identity,
        )
    except keys.SigningKeyUnavailable as exc:
        return _unavailable(exc)
    response = redirect(handoff.redirect_url)
    sessions.set_session_cookie(response, issued)
    return response


class _NoConfiguration(Exception):
    """The configuration cannot be confirmed right now (the middleware answers 503 too)."""


def _application(
    request: HttpRequest, token: str | None
) -> tuple[ApplicationConfig | None, Revocations]:
    """The application whose session ``token`` would be: the one of this hostname whose AUD
    tag the token claims, else the one covering the whole hostname; and what is revoked."""
    snapshot = config.current_snapshot()
    if snapshot is None:
        raise _NoConfiguration("configuration not confirmed")
    hostname = host_from_header(request.META.get("HTTP_HOST", ""))
    host_config = snapshot.host(hostname) if hostname else None
    if host_config is None:
        return None, snapshot.revocations
    claimed = claimed_audience(token) if token else None
    application = host_config.application(claimed) if claimed else None
    if application is None:
        route = host_config.route_for("/")
        application = route.application if route is not None else None
    return application, snapshot.revocations


@never_cache
@require_safe
def get_identity(request: HttpRequest) -> JsonResponse:
    """Who the current session belongs to: common name, certificate fingerprint, expiry; 401
    (and the cookie cleared, if it held an invalid token) when there is no valid session."""
    token = request.COOKIES.get(sessions.COOKIE_NAME)
    try:
        application, revocations = _application(request, token)
        snapshot = config.current_snapshot()
        ended = snapshot.ended_sessions if snapshot is not None else frozenset[str]()
        check = (
            sessions.session_check(token, application, ended=ended, revocations=revocations)
            if application
            else sessions.SessionCheck()
        )
    except (_NoConfiguration, keys.SigningKeyUnavailable) as exc:
        return _unavailable(exc)
    if check.claims is None:
        reason = check.error.reason if check.error else "no_session"
        response = JsonResponse({"error": reason}, status=401)
        if check.error is not None:
            sessions.clear_session_cookie(response)
        return response
    return JsonResponse(identity_of(check.claims))


def identity_of(claims: SessionClaims) -> dict[str, Any]:
    """What ``get-identity`` says of a session: the certificate facts, and for an identity
    session the person (email, login method, groups)."""
    answer: dict[str, Any] = {
        "common_name": claims.common_name,
        "fingerprint_sha256": claims.certificate_sha256,
        "expires_at": claims.expires_at.isoformat(),
        "issued_at": claims.issued_at.isoformat(),
        "audience": claims.audience,
    }
    person = claims.person
    if person is not None:
        answer |= {
            "email": person.email,
            "user_uuid": claims.subject,
            "identity_nonce": claims.identity_nonce,
            "idp": {
                "id": person.login_method,
                "name": person.login_method_name,
                "type": person.login_method_type,
            },
            "groups": list(person.groups),
        }
    return answer
