"""The ruling for one request, shared by the middleware and the forward-auth view.

:func:`decide` takes a plain :class:`~accessctl.core.request.IncomingRequest` (built from a
Django request by :func:`incoming`) and returns a :class:`~accessctl.core.request.Ruling`; it
shapes no response and writes no log. The steps:

1. dashboard hostnames (``ACCESSCTL_DASHBOARD_HOSTS``) are never enforced;
2. no confirmed configuration → ``unavailable`` (503), whatever the hostname;
3. a hostname no enforced application covers → ``unguarded`` (passes, ``request.access =
   None``, reason ``no_policy``);
4. the request goes to the application of the most specific domain that covers its path; a
   path no enforced application covers → ``unguarded`` too (reason ``no_application``);
5. the optional SNI header (trusted proxies only) must name the same host, else ``misdirected``;
6. the certificate header is read only from a trusted proxy (``ACCESSCTL_TRUSTED_PROXIES``),
   decoded, verified against the hostname's CAs only (``apps.gateway.verification``), and the
   pure evaluator decides with the application's policies.

The Host is taken from the Host header only (``request.get_host()``), never X-Forwarded-Host.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import itertools
import logging
import os
import re

from django.http import HttpRequest

from accessctl.core import forwarded as fwd
from accessctl.core.hostnames import host_from_header
from accessctl.core.policy import RequestFacts, evaluate
from accessctl.core.reasons import Reason
from accessctl.core.request import Access, IncomingRequest, Ruling, Verdict, meta_key
from accessctl.core.snapshot import HostConfig
from accessctl.core.verify import CertificateCheck
from apps.base.conf import AccessSettings, access_settings, is_auth_host, is_dashboard_host
from apps.gateway import config, verification

logger = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Request ids: unique, not secret. A random per-process prefix and a counter cost nothing,
# where a uuid4 per request reads the OS random source each time.
_ID_PREFIX = os.urandom(8).hex()
_id_counter = itertools.count(1)


def incoming(
    request: HttpRequest, *, host: str, path: str, method: str | None = None
) -> IncomingRequest:
    """Describe a Django request; ``host`` comes from ``request.get_host()``, ``method`` (by
    default the request's own) is the one a trusted forward-auth proxy reports."""
    scope = getattr(request, "scope", None)  # ASGI: the raw header names are known
    raw = (
        [name.decode("latin-1") for name, _ in scope.get("headers", [])]
        if isinstance(scope, dict)
        else None
    )
    return IncomingRequest(
        str(request.META.get("REMOTE_ADDR", "")),
        host,
        path,
        request.META,
        raw,
        method or request.method or "",
    )


def is_trusted_proxy(remote_addr: str) -> bool:
    """True when the immediate peer may set the certificate (and SNI, forwarding) headers."""
    return _trusted(remote_addr, access_settings())


@functools.lru_cache(maxsize=1024)
def _trusted(remote_addr: str, conf: AccessSettings) -> bool:
    # Keyed by the settings object (hashed by identity): a settings change is a new object.
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in network for network in conf.trusted_proxies)


@functools.lru_cache(maxsize=4096)
def hostname_of(host: str) -> str | None:
    """``host_from_header`` of a Host value, remembered: a worker sees the same few hostnames
    over and over, and normalising one (IDNA, IP-address test) costs more than the lookup."""
    return host_from_header(host)


def request_id_for(req: IncomingRequest, trusted: bool) -> str:
    """The proxy's X-Request-Id when a trusted proxy sent a sane one, else a fresh id."""
    if trusted:
        given = str(req.headers.get("HTTP_X_REQUEST_ID", ""))
        if _REQUEST_ID.match(given):
            return given
    return f"{_ID_PREFIX}{next(_id_counter):08x}"


def _header(req: IncomingRequest, name: str) -> str:
    """A header's value; the underscore spelling is refused where the server lets us see it."""
    if req.raw_header_names is not None:
        wanted = name.lower()
        spoof = wanted.replace("-", "_")
        names = {n.lower() for n in req.raw_header_names}
        if spoof != wanted and spoof in names:
            raise fwd.ForwardedCertError(Reason.HEADER_UNDERSCORE_SPELLING, name)
        if wanted not in names:
            return ""
    return str(req.headers.get(meta_key(name), ""))


def _sni_mismatch(req: IncomingRequest, hostname: str) -> bool:
    header = access_settings().sni_header
    if not header:
        return False
    try:
        sni = _header(req, header)
    except fwd.ForwardedCertError:
        return True
    # No SNI at all counts as a mismatch: the terminator picked a default server for it.
    return host_from_header(sni) != hostname


def decide(req: IncomingRequest, *, now: dt.datetime | None = None) -> Ruling:
    """Rule on ``req``; never raises.

    Whatever a client sends ends in a reason code. Should a bug raise anyway, the request is
    refused as ``unavailable`` (503, ``decision_error``) with the traceback in the log: a
    failed ruling never lets a request through, and never shows a 500 page.

    A request that is no access decision (a dashboard or unguarded hostname or path) costs
    a hostname lookup and a snapshot lookup, nothing more: it gets no request id (it is not
    logged), and the peer is only judged when a header is about to be read.
    """
    try:
        return _decide(req, now)
    except Exception:
        request_id = request_id_for(req, trusted=False)
        logger.exception("access decision %s failed; refused", request_id)
        return Ruling(
            Verdict.UNAVAILABLE, Reason.DECISION_ERROR, request_id, detail="see traceback"
        )


def _decide(req: IncomingRequest, now: dt.datetime | None) -> Ruling:
    hostname = hostname_of(req.host)
    if is_dashboard_host(req.host, hostname) or is_auth_host(req.host, hostname):
        # The authentication hostname serves the login pages: never enforced either.
        return Ruling(Verdict.DASHBOARD, Reason.DASHBOARD_HOST, "")
    snapshot = config.current_snapshot()
    trusted = is_trusted_proxy(req.remote_addr)
    if snapshot is None:
        return Ruling(Verdict.UNAVAILABLE, Reason.CONFIG_UNCONFIRMED, request_id_for(req, trusted))
    host_config = snapshot.host(hostname) if hostname else None
    if hostname is None or host_config is None or not host_config.enforced:
        return Ruling(Verdict.UNGUARDED, Reason.NO_POLICY, "", hostname)
    route = host_config.route_for(req.path)
    if route is None or not route.application.enforced:
        return Ruling(Verdict.UNGUARDED, Reason.NO_APPLICATION, "", hostname)
    application = route.application
    request_id = request_id_for(req, trusted)
    if trusted and _sni_mismatch(req, hostname):
        return Ruling(
            Verdict.MISDIRECTED,
            Reason.SNI_MISMATCH,
            request_id,
            hostname,
            host_config=host_config,
            application=application,
        )
    now = now or dt.datetime.now(dt.UTC)
    check = _certificate(req, host_config, snapshot.version, now, trusted)
    facts = RequestFacts(
        hostname=hostname,
        path=req.path,
        identity=check.identity,
        certificate_error=check.error,
        now=now,
    )
    outcome = evaluate(application.policies, facts)
    certificate = check.identity or check.presented
    if not outcome.allowed:
        return Ruling(
            Verdict.DENY,
            outcome.reason,
            request_id,
            hostname,
            outcome=outcome,
            certificate=certificate,
            detail=check.detail,
            certificate_verified=check.identity is not None,
            host_config=host_config,
            application=application,
            facts=facts,
        )
    access = Access(hostname, check.identity, outcome.policy, outcome, request_id, application)
    return Ruling(
        Verdict.ALLOW,
        outcome.reason,
        request_id,
        hostname,
        access=access,
        outcome=outcome,
        certificate=certificate,
        certificate_verified=check.identity is not None,
        host_config=host_config,
        application=application,
        facts=facts,
        valid_until=check.valid_until if check.identity is not None else None,
    )


def _certificate(
    req: IncomingRequest, host_config: HostConfig, version: str, now: dt.datetime, trusted: bool
) -> CertificateCheck:
    """Verify what the trusted proxy forwarded; any problem becomes a reason code."""
    conf = access_settings()
    if not trusted:
        # From anyone else the header is ignored as if absent (the log says so).
        sent = bool(conf.client_cert_meta) and bool(req.headers.get(conf.client_cert_meta))
        ignored = "certificate header from an untrusted peer ignored" if sent else ""
        return CertificateCheck(None, Reason.NO_CERTIFICATE, ignored, None, now)
    fmt = conf.client_cert_format
    try:
        value = _header(req, fwd.header_for(fmt, conf.client_cert_header))
        chain = _header(req, fwd.RFC9440_CHAIN_HEADER) if fmt == "rfc9440" else ""
    except fwd.ForwardedCertError as exc:
        return CertificateCheck(None, exc.reason, exc.detail, None, now)
    if not value.strip(" \t") and not chain.strip(" \t"):
        return CertificateCheck(None, Reason.NO_CERTIFICATE, "", None, now)
    return verification.check_forwarded(
        value,
        chain,
        host_config,
        fmt=fmt,
        version=version,
        now=now,
        max_depth=conf.max_chain_depth,
    )
