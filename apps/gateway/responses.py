"""Responses for refused requests: a small HTML page, or JSON for API clients.

The body says what happened and gives the request id; the detailed reason is only in the log,
so a probing client learns nothing about the trust store or the policies.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from apps.gateway.decision import Decision, Verdict

_PAGES: dict[Verdict, tuple[int, str, str, str]] = {
    Verdict.DENY: (
        403,
        "forbidden",
        "Access denied",
        "A valid client certificate is required to reach this site.",
    ),
    Verdict.MISDIRECTED: (
        421,
        "misdirected_request",
        "Misdirected request",
        "This connection was made for a different hostname.",
    ),
    Verdict.UNAVAILABLE: (
        503,
        "unavailable",
        "Temporarily unavailable",
        "Access cannot be checked right now. Please try again in a moment.",
    ),
}


def wants_json(request: HttpRequest) -> bool:
    """True when the client prefers JSON to HTML (``Accept: application/json``)."""
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def refusal(request: HttpRequest, decision: Decision) -> HttpResponse:
    """The 403, 421 or 503 response for a refused ``decision``."""
    status, error, title, message = _PAGES[decision.verdict]
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse({"error": error, "request_id": decision.request_id}, status=status)
    else:
        body = render_to_string(
            "gateway/refused.html",
            {"status": status, "title": title, "message": message, "decision": decision},
        )
        response = HttpResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    response["X-Request-Id"] = decision.request_id
    if decision.verdict is Verdict.UNAVAILABLE:
        response["Retry-After"] = "1"
    return response
