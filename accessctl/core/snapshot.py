"""The immutable, in-memory configuration the request path works on.

Built from the database once per configuration change (``apps.gateway.snapshot``) and then
shared read-only by every request of a worker: no ORM query per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from accessctl.core.policy import Policy
from accessctl.core.verify import TrustAnchors


@dataclass(frozen=True, slots=True)
class HostConfig:
    """Everything needed to decide a request to one hostname."""

    hostname: str
    anchors: TrustAnchors
    policies: tuple[Policy, ...]  # enabled only, in evaluation order
    audience: str  # the `aud` of this hostname's tokens
    epoch: str  # changes whenever CAs or policies of this hostname change; ends live sessions

    @property
    def enforced(self) -> bool:
        """A CA alone enforces nothing: only a hostname with an enabled policy is guarded."""
        return bool(self.policies)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """All hostnames' configuration at one version of the database."""

    version: str
    hosts: Mapping[str, HostConfig] = field(default_factory=dict)

    def host(self, hostname: str) -> HostConfig | None:
        return self.hosts.get(hostname)
