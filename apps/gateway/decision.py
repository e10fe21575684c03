"""The access decision for one request, shared by the middleware and the forward-auth view.

:func:`decide` takes a plain :class:`AccessRequest` (built from a Django request by the caller)
and returns a :class:`Decision`; it shapes no response and writes no log. The steps:

1. dashboard hostnames (``ACCESSCTL_DASHBOARD_HOSTS``) are never enforced;
2. no confirmed configuration → ``unavailable`` (503), whatever the hostname;
3. a hostname without an enabled policy → ``unguarded`` (passes, ``request.access = None``);
4. the optional SNI header (trusted proxies only) must name the same host, else ``misdirected``;
5. the certificate header is read only from a trusted proxy (``ACCESSCTL_TRUSTED_PROXIES``),
   decoded, verified against the hostname's CAs only, and the pure evaluator decides.

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
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accessctl.core import forwarded as fwd
from accessctl.core.hostnames import host_from_header
from accessctl.core.identity import ClientIdentity
from accessctl.core.policy import Outcome, Policy, RequestFacts, evaluate
from accessctl.core.snapshot import HostConfig
from apps.gateway import config, verification

logger = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Request ids: unique, not secret. A random per-process prefix and a counter cost nothing,
# where a uuid4 per request reads the OS random source each time.
_ID_PREFIX = os.urandom(8).hex()
_id_counter = itertools.count(1)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Verdict(StrEnum):
    """What happens to the request."""

    DASHBOARD = "dashboard"  # a dashboard hostname: never enforced
    UNGUARDED = "unguarded"  # no enabled policy for this hostname
    ALLOW = "allow"
    DENY = "deny"  # 403
    MISDIRECTED = "misdirected"  # 421: SNI and Host disagree
    UNAVAILABLE = "unavailable"  # 503: configuration not confirmed

    @property
    def passes(self) -> bool:
        return self in {Verdict.DASHBOARD, Verdict.UNGUARDED, Verdict.ALLOW}


@dataclass(frozen=True, slots=True)
class Access:
    """What a view learns about an allowed request to a guarded hostname (``request.access``)."""

    hostname: str
    identity: ClientIdentity | None  # None for a Bypass policy reached without a certificate
    policy: Policy | None
    outcome: Outcome
    request_id: str


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """The parts of an HTTP request a decision depends on.

    ``host`` is the Host header as Django validated it; ``headers`` is the WSGI META mapping.
    ``raw_header_names`` holds the header names exactly as received when the server exposes
    them (ASGI), so the underscore spelling of a header can be refused.
    """

    remote_addr: str
    host: str
    path: str
    headers: Mapping[str, Any]
    raw_header_names: Collection[str] | None = None

    @classmethod
    def from_django(cls, request: HttpRequest, *, host: str, path: str) -> AccessRequest:
        """Describe a Django request; ``host`` comes from ``request.get_host()``."""
        scope = getattr(request, "scope", None)  # ASGI: the raw header names are known
        raw = (
            [name.decode("latin-1") for name, _ in scope.get("headers", [])]
            if isinstance(scope, dict)
            else None
        )
        return cls(str(request.META.get("REMOTE_ADDR", "")), host, path, request.META, raw)


@dataclass(frozen=True, slots=True)
class Decision:
    """A verdict with everything the response and the log line need."""

    verdict: Verdict
    reason: str
    request_id: str
    hostname: str | None = None
    access: Access | None = None
    outcome: Outcome | None = None
    certificate: ClientIdentity | None = None  # as presented (unverified) or verified
    detail: str = ""
    # The configuration the verdict was reached with. The session step issues and checks
    # tokens against this one, never a snapshot refreshed meanwhile: a token minted with a
    # newer epoch would outlive the policy that allowed the request.
    host: HostConfig | None = None


def meta_key(header: str) -> str:
    """The WSGI META key of an HTTP header name."""
    return "HTTP_" + header.upper().replace("-", "_")


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    networks: list[Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            # Skipping trusts fewer peers, which fails closed; the E003 check names the entry.
            logger.error("ACCESSCTL_TRUSTED_PROXIES: ignoring invalid entry %r", entry)
    return tuple(networks)


def is_trusted_proxy(remote_addr: str) -> bool:
    """True when the immediate peer may set the certificate (and SNI, forwarding) headers."""
    return _trusted(remote_addr, tuple(str(e) for e in settings.ACCESSCTL_TRUSTED_PROXIES))


@functools.lru_cache(maxsize=1024)
def _trusted(remote_addr: str, entries: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in network for network in _networks(entries))


def _host_key(host: str, hostname: str | None = None) -> str:
    """A Host value as compared with ACCESSCTL_DASHBOARD_HOSTS (hostnames and IP literals)."""
    hostname = hostname or host_from_header(host)
    if hostname is not None:
        return hostname
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@functools.lru_cache(maxsize=8)
def _dashboard_keys(entries: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_host_key(entry) for entry in entries)


def is_dashboard_host(host: str, hostname: str | None = None) -> bool:
    """True for the hostnames that serve the dashboard (never enforced).

    ``hostname`` is ``host`` already normalized, when the caller has it.
    """
    entries = tuple(str(e) for e in settings.ACCESSCTL_DASHBOARD_HOSTS)
    return _host_key(host, hostname) in _dashboard_keys(entries)


def request_id_for(req: AccessRequest, trusted: bool) -> str:
    """The proxy's X-Request-Id when a trusted proxy sent a sane one, else a fresh id."""
    if trusted:
        given = str(req.headers.get("HTTP_X_REQUEST_ID", ""))
        if _REQUEST_ID.match(given):
            return given
    return f"{_ID_PREFIX}{next(_id_counter):08x}"


def _header(req: AccessRequest, name: str) -> str:
    """A header's value; the underscore spelling is refused where the server lets us see it."""
    if req.raw_header_names is not None:
        wanted = name.lower()
        spoof = wanted.replace("-", "_")
        names = {n.lower() for n in req.raw_header_names}
        if spoof != wanted and spoof in names:
            raise fwd.ForwardedCertError("header_underscore_spelling", name)
        if wanted not in names:
            return ""
    return str(req.headers.get(meta_key(name), ""))


def read_certificate(req: AccessRequest) -> fwd.ForwardedCertificate | None:
    """The certificate a trusted proxy forwarded, None if none; raise ForwardedCertError."""
    fmt = settings.ACCESSCTL_CLIENT_CERT_FORMAT
    value = _header(req, fwd.header_for(fmt, settings.ACCESSCTL_CLIENT_CERT_HEADER))
    chain = _header(req, fwd.RFC9440_CHAIN_HEADER) if fmt == "rfc9440" else ""
    return fwd.decode(fmt, value, chain, max_intermediates=int(settings.ACCESSCTL_MAX_CHAIN_DEPTH))


def _sni_mismatch(req: AccessRequest, hostname: str) -> bool:
    header = settings.ACCESSCTL_SNI_HEADER
    if not header:
        return False
    try:
        sni = _header(req, header)
    except fwd.ForwardedCertError:
        return True
    # No SNI at all counts as a mismatch: the terminator picked a default server for it.
    return host_from_header(sni) != hostname


def decide(req: AccessRequest, *, now: dt.datetime | None = None) -> Decision:
    """Decide ``req``; never raises.

    Whatever a client sends ends in a reason code. Should a bug raise anyway, the request is
    refused as ``unavailable`` (503, ``decision_error``) with the traceback in the log: a
    failed decision never lets a request through, and never shows a 500 page.
    """
    trusted = is_trusted_proxy(req.remote_addr)
    request_id = request_id_for(req, trusted)
    try:
        return _decide(req, now, trusted, request_id)
    except Exception:
        logger.exception("access decision %s failed; refused", request_id)
        return Decision(Verdict.UNAVAILABLE, "decision_error", request_id, detail="see traceback")


def _decide(
    req: AccessRequest, now: dt.datetime | None, trusted: bool, request_id: str
) -> Decision:
    hostname = host_from_header(req.host)
    if is_dashboard_host(req.host, hostname):
        return Decision(Verdict.DASHBOARD, "dashboard_host", request_id)
    snapshot = config.current_snapshot()
    if snapshot is None:
        return Decision(Verdict.UNAVAILABLE, "config_unconfirmed", request_id)
    host = snapshot.host(hostname) if hostname else None
    if hostname is None or host is None or not host.enforced:
        return Decision(Verdict.UNGUARDED, "no_policy", request_id, hostname)
    if trusted and _sni_mismatch(req, hostname):
        return Decision(Verdict.MISDIRECTED, "sni_mismatch", request_id, hostname, host=host)
    now = now or dt.datetime.now(dt.UTC)
    result = _certificate(req, host, snapshot.version, now, trusted)
    facts = RequestFacts(
        hostname=hostname,
        path=req.path,
        identity=result.identity,
        certificate_error=result.error,
        now=now,
    )
    outcome = evaluate(host.policies, facts)
    certificate = result.identity or result.presented
    if not outcome.allowed:
        return Decision(
            Verdict.DENY,
            outcome.reason,
            request_id,
            hostname,
            None,
            outcome,
            certificate,
            result.detail,
            host,
        )
    access = Access(hostname, result.identity, outcome.policy, outcome, request_id)
    return Decision(
        Verdict.ALLOW, outcome.reason, request_id, hostname, access, outcome, certificate, host=host
    )


def _certificate(
    req: AccessRequest, host: HostConfig, version: str, now: dt.datetime, trusted: bool
) -> verification.CertificateResult:
    """Verify what the trusted proxy forwarded; any problem becomes a reason code."""
    if not trusted:
        # From anyone else the header is ignored as if absent (the log says so).
        header = fwd.FORMATS.get(settings.ACCESSCTL_CLIENT_CERT_FORMAT, "")
        header = settings.ACCESSCTL_CLIENT_CERT_HEADER or header
        sent = bool(header) and bool(req.headers.get(meta_key(header)))
        ignored = "certificate header from an untrusted peer ignored" if sent else ""
        return verification.CertificateResult(None, "no_certificate", ignored, None, now)
    try:
        forwarded = read_certificate(req)
    except fwd.ForwardedCertError as exc:
        return verification.CertificateResult(None, exc.reason, exc.detail, None, now)
    if forwarded is None:
        return verification.CertificateResult(None, "no_certificate", "", None, now)
    return verification.verify_forwarded(
        forwarded,
        host,
        version=version,
        now=now,
        max_depth=int(settings.ACCESSCTL_MAX_CHAIN_DEPTH),
    )
