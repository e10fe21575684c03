"""Responses for refused requests: a small HTML page, or JSON for API clients.

The body says what happened and gives the request id; the detailed reason is only in the log,
so a probing client learns nothing about the trust store or the policies.
"""

from __future__ import annotations

import functools
import json
from urllib.parse import quote, urlencode, urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.loader import render_to_string
from django.utils.html import escape

from accessctl.core.request import Ruling, Verdict
from apps.base.conf import access_settings

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


_REQUEST_ID = "\x00request-id\x00"  # where the page's request id goes (no id holds NUL)


def wants_json(request: HttpRequest) -> bool:
    """True when the client prefers JSON to HTML (``Accept: application/json``)."""
    if "json" not in request.META.get("HTTP_ACCEPT", ""):
        return False  # the common case, decided without parsing the header
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


@functools.lru_cache(maxsize=8)
def _page(verdict: Verdict) -> tuple[str, str]:
    """A refusal page rendered once, split where the request id goes: a flood of refused
    requests must not cost a template rendering each."""
    status, _, title, message = _PAGES[verdict]
    body = render_to_string(
        "gateway/refused.html",
        {"status": status, "title": title, "message": message, "request_id": _REQUEST_ID},
    )
    before, _, after = body.partition(_REQUEST_ID)
    return before, after


def refusal(request: HttpRequest, ruling: Ruling) -> HttpResponse:
    """The 403, 421 or 503 response for a refused ``ruling``."""
    status, error, _, _ = _PAGES[ruling.verdict]
    response: HttpResponse
    if wants_json(request):
        body = json.dumps({"error": error, "request_id": ruling.request_id})
        response = HttpResponse(body, status=status, content_type="application/json")
    else:
        before, after = _page(ruling.verdict)
        response = HttpResponse(before + escape(ruling.request_id) + after, status=status)
    response["Cache-Control"] = "no-store"
    response["X-Request-Id"] = ruling.request_id
    if ruling.verdict is Verdict.UNAVAILABLE:
        response["Retry-After"] = "1"
    return already_logged(response)


def framed(response: HttpResponseBase) -> HttpResponseBase:
    """Give an answer of the access middleware its ``Content-Length``, as ``CommonMiddleware``
    does for the responses that go through it (the middleware answers before it). Without one,
    gunicorn sends an HTTP/1.1 body chunked: an extra write per response, and a client (a
    proxy's ``auth_request`` included) that must parse chunks for a page of a few hundred
    bytes; measured under gunicorn, a chunked 1.8 KB page costs about a tenth of the
    throughput of the same page with its length (docs/performance.md)."""
    if isinstance(response, HttpResponse) and not response.has_header("Content-Length"):
        response.headers["Content-Length"] = str(len(response.content))
    return response


def already_logged(response: HttpResponse) -> HttpResponse:
    """Keep ``django.request`` from logging this answer: a refusal (a 503 included) is a
    decision, logged once as the access log's line with its reason, never as an ERROR of its
    own. A flood of 503s during an outage must not become a flood of ERROR lines."""
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's own flag
    return response


LOGIN_PATH = "/cdn-cgi/access/login/"


def login_url(back: str, hostname: str) -> str | None:
    """The login page for ``hostname`` on the authentication hostname, asking to come back to
    ``back`` (the absolute URL the browser asked for: this request's, or for forward-auth the
    one the proxy reports); None when no authentication hostname is configured.

    The login page is reached with ``back``'s scheme, and its port unless
    ``ACCESSCTL_AUTH_HOSTNAME`` names one: one terminator serves both on one port.
    """
    auth = access_settings().auth_hostname
    if not auth:
        return None
    parts = urlsplit(back)
    host = parts.netloc
    port = host.rsplit(":", 1)[1] if host.count(":") == 1 and ":" not in auth else ""
    base = f"{parts.scheme}://{auth}{':' + port if port else ''}"
    query = urlencode({"redirect_url": back})
    return f"{base}{LOGIN_PATH}{quote(hostname, safe='')}?{query}"


def login_redirect(request: HttpRequest, ruling: Ruling) -> HttpResponse:
    """Send a browser that needs to log in to the login page (the refusal page when no
    authentication hostname is configured)."""
    url = login_url(request.build_absolute_uri(), ruling.hostname or "")
    if url is None:
        return refusal(request, ruling)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    response["X-Request-Id"] = ruling.request_id
    return response
