"""What is revoked, as the request path's snapshot holds it (``apps.gateway.snapshot``).

Two queries per snapshot build (three when a CRL this worker has not parsed yet was stored),
none per request. A stored CRL's serial numbers are read and parsed once per distinct CRL and
kept while that CRL is current (:data:`_SERIALS`, bounded by the number of stored CRLs), so
the rebuild a worker does every minute reads no CRL bytes and parses nothing.
"""

from __future__ import annotations

import threading
from types import MappingProxyType

from django.utils import timezone

from accessctl.core.revocation import CaCrl, Revocations, revoked_serials
from apps.revocation.choices import RevokedBy, WhenStale
from apps.revocation.models import CertificateRevocationList, Revocation

_SERIALS: dict[str, frozenset[int]] = {}  # CRL SHA-256 → its serials
_LOCK = threading.Lock()


def _parsed(shas: set[str]) -> dict[str, frozenset[int]]:
    """The serials of each stored CRL by its SHA-256, reading and parsing (in one query) only
    the CRLs this worker has not seen: a rebuild loads no CRL bytes it already parsed."""
    with _LOCK:
        known = {sha: _SERIALS[sha] for sha in shas if sha in _SERIALS}
    missing = shas - known.keys()
    if missing:
        rows = CertificateRevocationList.objects.filter(sha256__in=missing).values_list(
            "sha256", "der"
        )
        for sha256, der in rows:
            known[sha256] = revoked_serials(bytes(der))
    with _LOCK:
        _SERIALS.clear()  # bounded by the CRLs stored now
        _SERIALS.update(known)
    return known


def current_revocations() -> Revocations:
    """Every stored CRL by its CA's fingerprint, and every active revocation."""
    rows = list(
        CertificateRevocationList.objects.values_list(
            "sha256",
            "this_update",
            "next_update",
            "when_stale",
            "ca__fingerprint_sha256",
            "ca__subject",
        )
    )
    parsed = _parsed({row[0] for row in rows})
    crls: dict[str, CaCrl] = {}
    for sha256, this_update, next_update, when_stale, fingerprint, subject in rows:
        if sha256 not in parsed:  # replaced between the two queries: the next build has it
            continue
        crls[fingerprint] = CaCrl(
            revoked=parsed[sha256],
            this_update=this_update,
            next_update=next_update,
            accept_stale=when_stale == WhenStale.ACCEPT,
            label=subject,
        )
    serials: dict[str, str] = {}
    fingerprints: dict[str, str] = {}
    for kind, value, reason, created_at, username in Revocation.objects.active().values_list(
        "kind", "value", "reason", "created_at", "created_by__username"
    ):
        why = (
            f"by {username or 'the command line'} on "
            f"{timezone.localtime(created_at):%Y-%m-%d %H:%M}" + (f" ({reason})" if reason else "")
        )
        (serials if kind == RevokedBy.SERIAL else fingerprints)[value] = why
    return Revocations(
        MappingProxyType(crls), MappingProxyType(serials), MappingProxyType(fingerprints)
    )
