"""The guarded application's front page and the forward-auth endpoint."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from accessctl.core.hostnames import host_from_header
from accessctl.core.identity import ClientIdentity
from apps.gateway.decision import (
    AccessRequest,
    Decision,
    Verdict,
    is_dashboard_host,
    request_id_for,
)
from apps.gateway.decision import is_trusted_proxy as trusted_peer
from apps.gateway.logging import log_decision
from apps.gateway.middleware import decide_request
from apps.gateway.responses import wants_json
from apps.tokens.enforcement import NO_EFFECT

_FORWARD_AUTH_STATUS = {Verdict.DENY: 403, Verdict.MISDIRECTED: 421, Verdict.UNAVAILABLE: 503}
# nginx auth_request understands 2xx, 401 and 403 only: anything else becomes its 500. A proxy
# that sends this header with the value 403 gets every other refusal as 403, and the real
# status in STATUS_HEADER to answer with (deploy/nginx/forward-auth.conf maps it back).
REFUSAL_STATUS_HEADER = "HTTP_X_ACCESSCTL_REFUSAL_STATUS"
STATUS_HEADER = "X-Accessctl-Status"


def identity_json(identity: ClientIdentity) -> dict[str, Any]:
    """The verified identity as JSON-friendly data."""
    return {
        "common_name": identity.common_name,
        "subject": identity.subject,
        "issuer": identity.issuer,
        "serial": identity.serial,
        "fingerprint_sha256": identity.fingerprint_sha256,
        "not_before": identity.not_before.isoformat(),
        "not_after": identity.not_after.isoformat(),
        "san_dns": list(identity.san_dns),
        "san_emails": list(identity.san_emails),
        "san_uris": list(identity.san_uris),
    }


def original_path(uri: str) -> str | None:
    """The decoded path of a request target as the proxy forwarded it (X-Original-URI…).

    An origin-form target is cut at ``?``/``#`` only: ``urlsplit("//admin/x")`` would read
    ``admin`` as a host and give ``/x``, while the upstream routes ``//admin/x`` as
    ``/admin/x``. Only an absolute-form target (``https://host/path``) is split as a URL;
    None when it cannot be (``http://[::1``).
    """
    if not uri.startswith("/"):
        try:
            uri = urlsplit(uri).path
        except ValueError:
            return None
    path = uri.split("?", 1)[0].split("#", 1)[0]
    return unquote(path) or "/"


@require_safe
def index(request: HttpRequest) -> HttpResponseBase:
    """``/``: the verified identity on a guarded hostname; the dashboard on a dashboard host."""
    if not hasattr(request, "access"):
        raise ImproperlyConfigured("apps.gateway.middleware.AccessMiddleware is not installed")
    host = request.get_host()
    if is_dashboard_host(host):
        return redirect("admin:index")
    access = request.access
    if access is None:
        if wants_json(request):
            return JsonResponse({"hostname": host, "guarded": False})
        return render(request, "gateway/unguarded.html", {"host": host})
    if wants_json(request):
        return JsonResponse(
            {
                "hostname": access.hostname,
                "guarded": True,
                "request_id": access.request_id,
                "policy": access.policy.name if access.policy else None,
                "identity": identity_json(access.identity) if access.identity else None,
            }
        )
    return render(request, "gateway/identity.html", {"access": access, "identity": access.identity})


def forward_auth(request: HttpRequest) -> HttpResponse:
    """Decide a request a proxy describes (nginx auth_request, Traefik ForwardAuth, Caddy).

    From a trusted proxy only, the original host is X-Forwarded-Host (Traefik, Caddy) or else
    the Host header (nginx: ``proxy_set_header Host $host``), and the original path is
    X-Original-URI (nginx) or X-Forwarded-Uri (Traefik, Caddy). From anyone else these
    headers are ignored, like the certificate header. A hostname accessctl does not guard (no
    enabled policy, or a dashboard hostname) is refused (403, ``forward_auth_unguarded``):
    the proxy asked, so the request is meant to be guarded. Answers 200, 403, 421 or 503 with no
    body (401 for a script whose session ended), the status repeated in X-Accessctl-Status;
    with ``X-Accessctl-Refusal-Status: 403`` (nginx) a 421 or 503 is sent as 403. The
    decision step is the middleware's own (:func:`apps.gateway.middleware.decide_request`),
    sessions included.
    """
    host = request.get_host()
    path: str | None = "/"
    if trusted_peer(str(request.META.get("REMOTE_ADDR", ""))):
        host = str(request.META.get("HTTP_X_FORWARDED_HOST", "")).strip() or host
        uri = str(
            request.META.get("HTTP_X_ORIGINAL_URI")
            or request.META.get("HTTP_X_FORWARDED_URI")
            or "/"
        )
        path = original_path(uri)
    req = AccessRequest.from_django(request, host=host, path=path or "/")
    invalid = ""
    if path is None:
        invalid = "invalid_forwarded_uri"  # the path to decide cannot be told
    elif host_from_header(host) is None and not is_dashboard_host(host):
        # Two X-Forwarded-Host values joined by a comma, or no hostname at all: the guarded
        # host cannot be told, so nothing may pass.
        invalid = "invalid_forwarded_host"
    if invalid:
        request_id = request_id_for(req, trusted_peer(req.remote_addr))
        decision = Decision(Verdict.DENY, invalid, request_id)
        log_decision(req, decision)
        session = NO_EFFECT
    else:
        decision, session = decide_request(request, req)
        if decision.verdict in {Verdict.DASHBOARD, Verdict.UNGUARDED}:
            # The proxy asks because it puts this request behind accessctl. A hostname no
            # policy guards (or a dashboard one) names some other site: a client that sends
            # that Host to the guarded server must not be let through to its upstream.
            decision = Decision(
                Verdict.DENY, "forward_auth_unguarded", decision.request_id, decision.hostname
            )
            log_decision(req, decision)
            session = NO_EFFECT
    response = HttpResponse(status=_FORWARD_AUTH_STATUS.get(decision.verdict, 200))
    session.apply_forward_auth(response)  # the cookie, and the token for the upstream (401)
    response[STATUS_HEADER] = str(response.status_code)
    if decision.verdict is Verdict.UNAVAILABLE:
        response["Retry-After"] = "1"
    if response.status_code not in {200, 401, 403} and (
        request.META.get(REFUSAL_STATUS_HEADER) == "403"
    ):
        response.status_code = 403
        response.reason_phrase = "Forbidden"
    response["Cache-Control"] = "no-store"
    response["X-Request-Id"] = decision.request_id
    if decision.access is not None and decision.access.identity is not None:
        response["X-Accessctl-Fingerprint-Sha256"] = decision.access.identity.fingerprint_sha256
    return response
