"""The per-request types of the request path: what comes in, and what was ruled.

:class:`IncomingRequest` is the part of an HTTP request a ruling depends on, as plain data;
:class:`Ruling` is the gateway's answer for it (a :class:`Verdict`, the :class:`Reason`, and
everything the response, the session step and the access log need); :class:`Access` is what a
view of a guarded hostname learns about the request it serves (``request.access``).

Names on the request path, one per concept: a policy's *decision* is what the policy does
(``accessctl.core.policy.Decision``: Cloudflare's word); the evaluator's *outcome*
(``accessctl.core.policy.Outcome``) is which policy matched; a *ruling* is what happens to
one request. ``host`` is always a Host header as received, ``hostname`` its normalized form,
``host_config`` the :class:`~accessctl.core.snapshot.HostConfig` of that hostname, and
``application`` the :class:`~accessctl.core.snapshot.ApplicationConfig` a request is routed
to (the ``Application`` model is the stored form of one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from accessctl.core.identity import ClientIdentity
from accessctl.core.people import Person
from accessctl.core.policy import Outcome, Policy, RequestFacts
from accessctl.core.reasons import Reason
from accessctl.core.snapshot import ApplicationConfig, HostConfig


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
        """True when the request goes on to the view (or the proxied application)."""
        return self in {Verdict.DASHBOARD, Verdict.UNGUARDED, Verdict.ALLOW}


@dataclass(frozen=True, slots=True)
class IncomingRequest:
    """The parts of an HTTP request a ruling depends on.

    ``host`` is the Host header as Django validated it; ``headers`` is the WSGI META mapping.
    ``raw_header_names`` holds the header names exactly as received when the server exposes
    them (ASGI), so the underscore spelling of a header can be refused. ``method`` is the
    client's method: for forward-auth the one the trusted proxy reports (an nginx
    ``auth_request`` subrequest is always a GET); what the access log records, never what
    decides.
    """

    remote_addr: str
    host: str
    path: str
    headers: Mapping[str, Any]
    raw_header_names: Collection[str] | None = None
    method: str = ""


@dataclass(frozen=True, slots=True)
class Access:
    """What a view learns about an allowed request to a guarded hostname (``request.access``)."""

    hostname: str
    identity: ClientIdentity | None  # None for a Bypass policy reached without a certificate
    policy: Policy | None
    outcome: Outcome
    request_id: str
    application: ApplicationConfig | None = None
    person: Person | None = None  # who logged in, for an identity session


@dataclass(frozen=True, slots=True)
class Ruling:
    """A verdict with everything the response, the session step and the log line need."""

    verdict: Verdict
    reason: Reason
    request_id: str
    hostname: str | None = None
    access: Access | None = None
    outcome: Outcome | None = None
    certificate: ClientIdentity | None = None  # as presented (unverified) or verified
    detail: str = ""
    # True when ``certificate`` is a leaf that verified against the hostname's CAs (whatever
    # the policies then made of it): what the inventory of client certificates keeps.
    certificate_verified: bool = False
    # The configuration the verdict was reached with: the hostname's, and the application
    # the request was routed to. The session step issues and checks tokens against these,
    # never a snapshot refreshed meanwhile: a token minted with a newer epoch would outlive
    # the policy that allowed the request.
    host_config: HostConfig | None = None
    application: ApplicationConfig | None = None
    # What the evaluator was given: the session step evaluates again with the person an
    # identity session carries (identity from the login, certificate from this request).
    facts: RequestFacts | None = None
    # An allowed certificate's ruling holds, for the same request and configuration, until
    # the certificate check's own validity ends (CertificateCheck.valid_until).
    valid_until: dt.datetime | None = None

    def with_request_id(self, request_id: str) -> Ruling:
        """This ruling, and its access, for another request: ``dataclasses.replace`` of the
        request id without its field-by-field introspection (about half the cost). A
        remembered ruling is handed out so for every request it answers."""
        access = self.access
        if access is not None:
            access = Access(
                access.hostname,
                access.identity,
                access.policy,
                access.outcome,
                request_id,
                access.application,
                access.person,
            )
        return Ruling(
            self.verdict,
            self.reason,
            request_id,
            self.hostname,
            access,
            self.outcome,
            self.certificate,
            self.detail,
            self.certificate_verified,
            self.host_config,
            self.application,
            self.facts,
            self.valid_until,
        )


def meta_key(header: str) -> str:
    """The WSGI ``META`` key of an HTTP header name: ``X-SSL-Client-Cert`` →
    ``HTTP_X_SSL_CLIENT_CERT`` (WSGI maps ``-`` and ``_`` alike; see the trust boundary)."""
    return "HTTP_" + header.upper().replace("-", "_")
