"""The guarded application's front page (accessctl serving itself behind its terminator)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from accessctl.core.identity import ClientIdentity
from apps.base.conf import is_dashboard_host
from apps.gateway.http import GuardedRequest
from apps.gateway.responses import wants_json


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


@require_safe
def index(request: GuardedRequest) -> HttpResponseBase:
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
                "email": access.person.email if access.person else None,
            }
        )
    return render(request, "gateway/identity.html", {"access": access, "identity": access.identity})
