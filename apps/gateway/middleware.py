"""The access middleware: decide every request to a guarded hostname, or refuse it.

Place it in ``MIDDLEWARE`` right after ``SecurityMiddleware`` and WhiteNoise and before
``SessionMiddleware`` and ``CsrfViewMiddleware``: the HTTPS redirect and the dashboard's public
static files come first, but a refused request must not reach sessions, CSRF or any view
(check ``accessctl.E001``/``E005``). It is glue only: the ruling is
:func:`apps.gateway.decision.decide` (then :func:`apps.gateway.session_step.session_step`),
the response :func:`apps.gateway.responses.refusal`. What it answers itself (refusals,
forward-auth, health probes) carries its ``Content-Length``
(:func:`apps.gateway.responses.framed`); the 404 of the dashboard asked for on another
hostname is Django's own page, as is the 400 for a Host outside ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseBase
from django.urls import NoReverseMatch, get_urlconf, reverse

from apps.base.conf import access_settings, is_dashboard_host
from apps.gateway.client_certificate import pass_to_origin
from apps.gateway.decision import incoming
from apps.gateway.forward_auth import FORWARD_AUTH_PATH, forward_auth
from apps.gateway.gate import decide_request
from apps.gateway.health import PROBES
from apps.gateway.http import GuardedRequest
from apps.gateway.responses import framed, login_redirect, refusal

# Not enforced here: the Access endpoints (/cdn-cgi/access/: keys, logout, get-identity)
# answer on every hostname and check sessions themselves, as Cloudflare's do; the forward-auth
# endpoint decides for *another* request (described by headers) and is answered right here.
# Exact paths, never a prefix: /cdn-cgi/access/../x is not an Access endpoint, whatever a
# later route makes of it.
ACCESS_ENDPOINTS_PREFIX = "/cdn-cgi/access/"
# The API (apps/api) is part of the dashboard: served where the dashboard is, nowhere else.
API_PREFIX = "/client/v4/"
UNENFORCED_PATHS = frozenset(
    ACCESS_ENDPOINTS_PREFIX + name for name in ("certs", "logout", "get-identity", "authorized")
)


class AccessMiddleware:
    """Enforce the hostname's policies; set ``request.access`` (None when not enforced)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, http_request: HttpRequest) -> HttpResponseBase:
        request = cast(GuardedRequest, http_request)
        # First: a Host outside ALLOWED_HOSTS raises DisallowedHost, which Django answers with
        # 400 before any policy is looked up.
        host = request.get_host()
        request.access = None
        request.access_session = None
        path = request.path_info
        if path == FORWARD_AUTH_PATH:
            # Answered here: the rest of the stack (sessions, CSRF, messages, URL resolution)
            # has nothing to add to a status-only answer for a proxy.
            return framed(forward_auth(request))
        if path in PROBES:  # load balancers' health checks: no session, no CSRF, no policy
            return framed(PROBES[path](request))
        if is_dashboard_path(path) and not is_dashboard_host(host):
            # The dashboard (and its API, /client/v4/) is served on ACCESSCTL_DASHBOARD_HOSTS
            # only, never on a guarded (or any other) hostname, where every client with a
            # certificate would reach it.
            raise Http404("the dashboard is not served on this hostname")
        if path in UNENFORCED_PATHS:
            return self.get_response(request)
        req = incoming(request, host=host, path=request.path)
        ruling, session = decide_request(request, req)
        if not ruling.verdict.passes:
            refused = login_redirect(request, ruling) if session.login else refusal(request, ruling)
            session.apply(refused)  # clears a refused cookie; 401 for scripts
            return framed(refused)
        request.access = ruling.access
        session.before_view(request)  # Cf-Access-Jwt-Assertion, never the client's copy
        pass_to_origin(request, ruling)  # Cf-Client-Cert-*, never the client's
        response = self.get_response(request)
        session.apply(response)  # CF_Authorization (none for "No duration" or Bypass)
        return response


def is_dashboard_path(path_info: str) -> bool:
    """True for the dashboard's URLs when ACCESSCTL_DASHBOARD_HOSTS confines it.

    With no dashboard hostname configured (check accessctl.W004 warns) the dashboard stays
    reachable everywhere rather than nowhere. The prefix is the admin's own URL, so it is
    compared as Django's resolver will (the literal ``path_info``).
    """
    if not access_settings().dashboard_hosts:
        return False
    if path_info.startswith(API_PREFIX) or path_info == API_PREFIX.rstrip("/"):
        return True
    prefix = dashboard_prefix()
    return prefix is not None and path_info.startswith(prefix)


def dashboard_prefix() -> str | None:
    """The dashboard's URL prefix (``/admin/``) in the current URLconf; None without one."""
    return _dashboard_prefix(get_urlconf() or settings.ROOT_URLCONF)


@functools.lru_cache(maxsize=8)
def _dashboard_prefix(urlconf: str) -> str | None:
    # Reversed once per URLconf (tests swap them), not on every request.
    try:
        return reverse("admin:index", urlconf=urlconf)
    except NoReverseMatch:  # a URLconf without the dashboard (tests)
        return None
