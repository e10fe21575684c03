"""The forward-auth endpoint: the access decision for a request a proxy describes.

nginx ``auth_request``, Traefik ForwardAuth and Caddy ``forward_auth`` ask before each request
to the application they guard; the answer is a status and headers only.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from django.http import HttpRequest, HttpResponse

from accessctl.core.hostnames import host_from_header, url_on_hostname
from accessctl.core.reasons import Reason
from accessctl.core.request import Ruling, Verdict
from apps.base.conf import is_dashboard_host
from apps.gateway.client_certificate import add_to_forward_auth
from apps.gateway.decision import incoming, request_id_for
from apps.gateway.decision import is_trusted_proxy as trusted_peer
from apps.gateway.gate import decide_request
from apps.gateway.logging import log_ruling
from apps.gateway.responses import already_logged, login_url
from apps.gateway.session_step import NO_EFFECT

FORWARD_AUTH_PATH = "/_accessctl/forward-auth"
_FORWARD_AUTH_STATUS = {Verdict.DENY: 403, Verdict.MISDIRECTED: 421, Verdict.UNAVAILABLE: 503}
# nginx auth_request understands 2xx, 401 and 403 only: anything else becomes its 500. A proxy
# that sends this header with the value 403 gets every other refusal as 403, and the real
# status in STATUS_HEADER to answer with (deploy/nginx/forward-auth.conf maps it back).
REFUSAL_STATUS_HEADER = "HTTP_X_ACCESSCTL_REFUSAL_STATUS"
STATUS_HEADER = "X-Accessctl-Status"
# An HTTP method is a token (RFC 9110, 5.6.2); the access log keeps 16 characters of it.
_METHOD = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,16}$")


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


def original_method(request: HttpRequest) -> str | None:
    """The client's method a trusted proxy reports: X-Original-Method (nginx, whose
    ``auth_request`` subrequest is always a GET) or X-Forwarded-Method (Traefik, Caddy).

    None (the forward-auth request's own method is kept) when the header is missing or is no
    HTTP token: the method is only recorded, never decided on, so a garbled one is not worth
    a refusal. The caller reads it from a trusted proxy only.
    """
    given = str(
        request.META.get("HTTP_X_ORIGINAL_METHOD")
        or request.META.get("HTTP_X_FORWARDED_METHOD")
        or ""
    ).strip()
    return given if _METHOD.match(given) else None


def original_url(request: HttpRequest, hostname: str, *, trusted: bool) -> str:
    """The URL the browser asked for, to come back to after the login.

    From a trusted proxy, X-Original-URL (nginx: ``$scheme://$http_host$request_uri``), else
    the scheme with X-Forwarded-Host and X-Forwarded-Uri (Traefik, Caddy); only when it is a
    URL on ``hostname``, the hostname decided: a client's Host must not make the login lead
    elsewhere (no open redirect). Otherwise the root of ``hostname``.
    """
    scheme = request.scheme
    if trusted:
        meta = request.META
        host = str(meta.get("HTTP_X_FORWARDED_HOST", "")).strip()
        uri = str(meta.get("HTTP_X_FORWARDED_URI", ""))
        described = f"{scheme}://{host}{uri}" if host and uri.startswith("/") else ""
        given = str(meta.get("HTTP_X_ORIGINAL_URL", "")).strip() or described
        if url_on_hostname(given, hostname) is not None:
            return given
    return f"{scheme}://{hostname}/"


def forward_auth(request: HttpRequest) -> HttpResponse:
    """Decide a request a proxy describes (nginx auth_request, Traefik ForwardAuth, Caddy).

    From a trusted proxy only, the original host is X-Forwarded-Host (Traefik, Caddy) or else
    the Host header (nginx: ``proxy_set_header Host $host``), the original path is
    X-Original-URI (nginx) or X-Forwarded-Uri (Traefik, Caddy), and the method the access log
    records is X-Original-Method or X-Forwarded-Method. From anyone else these headers are
    ignored, like the certificate header. A hostname accessctl does not guard (no enabled
    policy, or a dashboard hostname) is refused (403, ``forward_auth_unguarded``): the proxy
    asked, so the request is meant to be guarded.

    Answers 200, 403, 421 or 503 with no body (401 for a script whose session ended or who
    must log in), or 302 to the middleware's login page for a browser that must log in
    (:func:`original_url` is where it comes back to); the status is repeated in
    X-Accessctl-Status. With ``X-Accessctl-Refusal-Status: 403`` (nginx) a 302, 421 or 503 is
    sent as 403, its Location kept. The decision step is the middleware's own
    (:func:`apps.gateway.gate.decide_request`), sessions included.

    The access middleware answers this path itself, so that none of the dashboard's
    middleware (sessions, CSRF, messages) nor URL resolution runs for it; the URL route
    exists for a project that wires it in its own URLconf.
    """
    host = request.get_host()
    path: str | None = "/"
    method = None
    if trusted_peer(str(request.META.get("REMOTE_ADDR", ""))):
        host = str(request.META.get("HTTP_X_FORWARDED_HOST", "")).strip() or host
        uri = str(
            request.META.get("HTTP_X_ORIGINAL_URI")
            or request.META.get("HTTP_X_FORWARDED_URI")
            or "/"
        )
        path = original_path(uri)
        method = original_method(request)
    req = incoming(request, host=host, path=path or "/", method=method)
    invalid: Reason | None = None
    if path is None:
        invalid = Reason.INVALID_FORWARDED_URI  # the path to decide cannot be told
    elif host_from_header(host) is None and not is_dashboard_host(host):
        # Two X-Forwarded-Host values joined by a comma, or no hostname at all: the guarded
        # host cannot be told, so nothing may pass.
        invalid = Reason.INVALID_FORWARDED_HOST
    if invalid is not None:
        request_id = request_id_for(req, trusted_peer(req.remote_addr))
        ruling = Ruling(Verdict.DENY, invalid, request_id)
        log_ruling(req, ruling)
        session = NO_EFFECT
    else:
        ruling, session = decide_request(request, req)
        unguarded_host = ruling.verdict is Verdict.UNGUARDED and ruling.reason == Reason.NO_POLICY
        if ruling.verdict is Verdict.DASHBOARD or unguarded_host:
            # The proxy asks because it puts this request behind accessctl. A hostname no
            # policy guards (or a dashboard one) names some other site: a client that sends
            # that Host to the guarded server must not be let through to its upstream. (A
            # path of a guarded hostname that no application covers passes, as it would
            # through the middleware: as in Cloudflare, only applications are behind Access.)
            request_id = request_id_for(req, trusted_peer(req.remote_addr))
            ruling = Ruling(
                Verdict.DENY, Reason.FORWARD_AUTH_UNGUARDED, request_id, ruling.hostname
            )
            log_ruling(req, ruling)
            session = NO_EFFECT
    login = None
    if session.login:  # a browser that must log in first: the middleware's login page
        hostname = ruling.hostname or host
        trusted = trusted_peer(req.remote_addr)
        login = login_url(original_url(request, hostname, trusted=trusted), hostname)
    response = HttpResponse(status=302 if login else _FORWARD_AUTH_STATUS.get(ruling.verdict, 200))
    if login:
        response["Location"] = login
    session.apply_forward_auth(response)  # the cookie, and the token for the upstream (401)
    add_to_forward_auth(response, request, ruling)  # Cf-Client-Cert-*
    response[STATUS_HEADER] = str(response.status_code)
    if ruling.verdict is Verdict.UNAVAILABLE:
        response["Retry-After"] = "1"
    if response.status_code not in {200, 401, 403} and (
        request.META.get(REFUSAL_STATUS_HEADER) == "403"
    ):
        response.status_code = 403
        response.reason_phrase = "Forbidden"
    response["Cache-Control"] = "no-store"
    response["X-Request-Id"] = ruling.request_id or request_id_for(
        req, trusted_peer(req.remote_addr)
    )
    if ruling.access is not None and ruling.access.identity is not None:
        response["X-Accessctl-Fingerprint-Sha256"] = ruling.access.identity.fingerprint_sha256
    return already_logged(response)
