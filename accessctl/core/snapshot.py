"""The immutable, in-memory configuration the request path works on.

Built from the database once per configuration change (``apps.gateway.snapshot``) and then
shared read-only by every request of a worker: no ORM query per request.

A hostname (:class:`HostConfig`) has the CAs bound to it and the *routes* that the enabled
applications' domains put on it: ``app.example.com/api`` is a route of path ``/api`` to one
:class:`ApplicationConfig`. A request goes to the application of the most specific route that
covers its path, as in Cloudflare; a path no route covers is not behind any application.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from accessctl.core.policy import Policy, canonical_path, covers
from accessctl.core.revocation import NO_REVOCATIONS, Revocations
from accessctl.core.verify import TrustAnchors


@dataclass(frozen=True, slots=True)
class ApplicationConfig:
    """One Access application, as the request path sees it.

    ``policies`` are its enabled policies, in evaluation order, with "Same as application
    session timeout" already resolved to ``session_seconds``. ``audience`` is the AUD tag its
    tokens carry; ``epoch`` changes whenever anything that decides its sessions changes (its
    domains, policies, the CAs of its hostnames, a revocation of its tokens), which ends every
    session issued under the previous one.
    """

    id: int
    name: str
    audience: str
    session_seconds: int
    policies: tuple[Policy, ...]
    epoch: str

    @property
    def enforced(self) -> bool:
        """An application without an enabled policy lets its paths through unchecked."""
        return bool(self.policies)


@dataclass(frozen=True, slots=True)
class Route:
    """One domain of an application on one hostname: a path prefix (``/`` for all of it)."""

    path_prefix: str
    application: ApplicationConfig


@dataclass(frozen=True, slots=True)
class HostConfig:
    """Everything needed to decide a request to one hostname."""

    hostname: str
    anchors: TrustAnchors
    routes: tuple[Route, ...] = ()  # most specific path first
    # Cloudflare's client_certificate_forwarding: the origin receives the verified client
    # certificate (Cf-Client-Cert-Der-Base64, Cf-Client-Cert-Sha256).
    forward_client_certificate: bool = False

    @property
    def enforced(self) -> bool:
        """A CA alone enforces nothing: only a hostname some enforced application covers is
        guarded."""
        return any(route.application.enforced for route in self.routes)

    def route_for(self, path: str) -> Route | None:
        """The most specific route whose path covers ``path`` (compared canonically)."""
        canonical = canonical_path(path)
        for route in self.routes:
            if covers(route.path_prefix, canonical):
                return route
        return None

    def application(self, audience: str) -> ApplicationConfig | None:
        """The application of this hostname whose AUD tag is ``audience``."""
        return next(
            (r.application for r in self.routes if r.application.audience == audience), None
        )


def route_order(routes: list[Route]) -> tuple[Route, ...]:
    """Routes most specific first: longer path prefixes (counted in segments) before shorter,
    then by application id so that the order is stable."""
    return tuple(
        sorted(
            routes,
            key=lambda r: (-len([s for s in r.path_prefix.split("/") if s]), r.application.id),
        )
    )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """All hostnames' configuration at one version of the database; ``revocations`` is what
    every hostname's anchors check paths against (also here for the Access endpoints);
    ``ended_sessions`` the identity nonces of the logins logged out since (their sessions are
    refused everywhere)."""

    version: str
    hosts: Mapping[str, HostConfig] = field(default_factory=dict)
    revocations: Revocations = NO_REVOCATIONS
    ended_sessions: frozenset[str] = frozenset()

    def host(self, hostname: str) -> HostConfig | None:
        return self.hosts.get(hostname)
