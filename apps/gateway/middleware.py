"""The access middleware: decide every request to a guarded hostname, or refuse it.

Place it in ``MIDDLEWARE`` right after ``SecurityMiddleware`` and WhiteNoise and before
``SessionMiddleware`` and ``CsrfViewMiddleware``: the HTTPS redirect and the dashboard's public
static files come first, but a refused request must not reach sessions, CSRF or any view
(check ``accessctl.E001``/``E005``). It is glue only: the decision is
:func:`apps.gateway.decision.decide`, the response :func:`apps.gateway.responses.refusal`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseBase
from django.urls import NoReverseMatch, reverse

from apps.gateway.decision import AccessRequest, Decision, decide, is_dashboard_host
from apps.gateway.logging import log_decision
from apps.gateway.responses import refusal
from apps.tokens.enforcement import SessionEffect, session_step
from apps.tokens.sessions import is_xhr

# Not enforced here: the forward-auth endpoint decides for *another* request (described by
# headers), and the Access endpoints (/cdn-cgi/access/: keys, logout, get-identity) answer on
# every hostname and check sessions themselves, as Cloudflare's do. Exact paths, never a
# prefix: /cdn-cgi/access/../x is not an Access endpoint, whatever a later route makes of it.
FORWARD_AUTH_PATH = "/_accessctl/forward-auth"
ACCESS_ENDPOINTS_PREFIX = "/cdn-cgi/access/"
UNENFORCED_PATHS = frozenset(
    {
        FORWARD_AUTH_PATH,
        *(ACCESS_ENDPOINTS_PREFIX + name for name in ("certs", "logout", "get-identity")),
    }
)


class AccessMiddleware:
    """Enforce the hostname's policies; set ``request.access`` (None when not enforced)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # First: a Host outside ALLOWED_HOSTS raises DisallowedHost, which Django answers with
        # 400 before any policy is looked up.
        host = request.get_host()
        request.access = None  # type: ignore[attr-defined]
        if is_dashboard_path(request.path_info) and not is_dashboard_host(host):
            # The dashboard is served on ACCESSCTL_DASHBOARD_HOSTS only, never on a guarded
            # (or any other) hostname, where every client with a certificate would reach it.
            raise Http404("the dashboard is not served on this hostname")
        if request.path_info in UNENFORCED_PATHS:
            return self.get_response(request)
        req = AccessRequest.from_django(request, host=host, path=request.path)
        decision, session = decide_request(request, req)
        if not decision.verdict.passes:
            response = refusal(request, decision)
            session.apply(response)  # clears a refused cookie; 401 for scripts
            return response
        request.access = decision.access  # type: ignore[attr-defined]
        session.before_view(request)  # Cf-Access-Jwt-Assertion, never the client's copy
        response = self.get_response(request)
        session.apply(response)  # CF_Authorization (none for "No duration" or Bypass)
        return response


def is_dashboard_path(path_info: str) -> bool:
    """True for the dashboard's URLs when ACCESSCTL_DASHBOARD_HOSTS confines it.

    With no dashboard hostname configured (check accessctl.W004 warns) the dashboard stays
    reachable everywhere rather than nowhere. The prefix is the admin's own URL, so it is
    compared as Django's resolver will (the literal ``path_info``).
    """
    if not settings.ACCESSCTL_DASHBOARD_HOSTS:
        return False
    try:
        prefix = reverse("admin:index")
    except NoReverseMatch:  # a URLconf without the dashboard (tests)
        return False
    return path_info.startswith(prefix)


def decide_request(request: HttpRequest, req: AccessRequest) -> tuple[Decision, SessionEffect]:
    """Decide ``req`` (certificate, then session: apps.tokens.enforcement) and log one line.

    The one decision step of both the middleware and the forward-auth view; ``req`` describes
    the request being decided (for forward-auth: the original host and path).
    """
    decision, session = session_step(
        decide(req), path=req.path, cookies=request.COOKIES, xhr=is_xhr(request)
    )
    log_decision(req, decision)
    return decision, session
