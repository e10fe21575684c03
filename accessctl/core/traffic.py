"""Tallies of the client certificates seen in a batch of requests, made before anything is
written, so that a batch costs one write per distinct certificate rather than per request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from accessctl.core.identity import ClientIdentity


@dataclass(slots=True)
class Tally:
    """How often, and between when, one thing was seen (times in seconds since the epoch)."""

    count: int
    first: float
    last: float

    def add(self, when: float) -> None:
        self.count += 1
        self.first = min(self.first, when)
        self.last = max(self.last, when)


@dataclass(slots=True)
class LeafTally:
    """One verified leaf over a batch: its facts, its requests, and per hostname reached."""

    identity: ClientIdentity
    seen: Tally
    hostnames: dict[str, Tally] = field(default_factory=dict)


def tally_leaves(seen: Iterable[tuple[float, str, ClientIdentity]]) -> dict[str, LeafTally]:
    """``(time, hostname, verified identity)`` triples, tallied per SHA-256 fingerprint."""
    leaves: dict[str, LeafTally] = {}
    for when, hostname, identity in seen:
        leaf = leaves.get(identity.fingerprint_sha256)
        if leaf is None:
            leaf = leaves[identity.fingerprint_sha256] = LeafTally(identity, Tally(0, when, when))
        leaf.seen.add(when)
        host = leaf.hostnames.get(hostname)
        if host is None:
            leaf.hostnames[hostname] = Tally(1, when, when)
        else:
            host.add(when)
    return leaves
