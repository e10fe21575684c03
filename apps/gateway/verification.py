"""Verifying a forwarded certificate against a hostname's CAs, with a bounded result cache.

Verification of a leaf and an intermediate costs ~100 µs; the same client sends the same bytes
on every request, so results are cached, keyed by (hostname, host epoch, SHA-256 of the leaf and
chain DER). The cache is cleared whenever the snapshot version changes, and an entry never
lives longer than :data:`RESULT_TTL` seconds (verification depends on the time) nor past the
``not_after`` of any certificate of the verified path.

Failures are cached too (so a client retrying a bad certificate costs a dictionary lookup), in
a separate, smaller LRU so that a flood of distinct bad certificates can never evict the
results of good clients. Both LRUs are bounded: memory stays flat whatever the traffic.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from accessctl.core.forwarded import ForwardedCertError, ForwardedCertificate, load_chain
from accessctl.core.identity import ClientIdentity, presented_identity
from accessctl.core.snapshot import HostConfig
from accessctl.core.verify import ChainError, verify_client_chain

RESULT_TTL = dt.timedelta(seconds=60)
FAILURE_TTL = dt.timedelta(seconds=10)
MAX_RESULTS = 10_000
MAX_FAILURES = 1_000


@dataclass(frozen=True, slots=True)
class CertificateResult:
    """The outcome of verifying one forwarded certificate for one hostname.

    ``identity`` is set only when the chain verified. ``presented`` describes the leaf as sent
    (unverified, for the log only) when it could be parsed.
    """

    identity: ClientIdentity | None
    error: str | None
    detail: str
    presented: ClientIdentity | None
    expires_at: dt.datetime


class _Lru:
    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.entries: OrderedDict[tuple[str, str, bytes], CertificateResult] = OrderedDict()

    def get(self, key: tuple[str, str, bytes], now: dt.datetime) -> CertificateResult | None:
        result = self.entries.get(key)
        if result is None:
            return None
        if now >= result.expires_at:
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return result

    def put(self, key: tuple[str, str, bytes], result: CertificateResult) -> None:
        self.entries[key] = result
        self.entries.move_to_end(key)
        while len(self.entries) > self.maxsize:
            self.entries.popitem(last=False)


class VerificationCache:
    """Bounded, thread-safe LRU caches of verification results, for one snapshot version."""

    def __init__(self, maxsize: int = MAX_RESULTS, failures_maxsize: int = MAX_FAILURES) -> None:
        self._lock = threading.Lock()
        self._good = _Lru(maxsize)
        self._bad = _Lru(failures_maxsize)
        self._version: str | None = None

    def __len__(self) -> int:
        return len(self._good.entries) + len(self._bad.entries)

    def get(
        self, version: str, key: tuple[str, str, bytes], now: dt.datetime
    ) -> CertificateResult | None:
        """The cached result, if still valid at ``now`` for snapshot ``version``."""
        with self._lock:
            if version != self._version:
                self._good.entries.clear()
                self._bad.entries.clear()
                self._version = version
                return None
            return self._good.get(key, now) or self._bad.get(key, now)

    def put(self, version: str, key: tuple[str, str, bytes], result: CertificateResult) -> None:
        """Remember ``result`` (ignored if the snapshot version moved on meanwhile)."""
        with self._lock:
            if version == self._version:
                (self._good if result.identity else self._bad).put(key, result)

    def clear(self) -> None:
        """Forget every result."""
        with self._lock:
            self._good.entries.clear()
            self._bad.entries.clear()


results = VerificationCache()


def cache_key(host: HostConfig, forwarded: ForwardedCertificate) -> tuple[str, str, bytes]:
    """(hostname, epoch, SHA-256 over the length-prefixed leaf and chain DER)."""
    digest = hashlib.sha256()
    for der in (forwarded.leaf, *forwarded.chain):
        digest.update(len(der).to_bytes(4, "big"))
        digest.update(der)
    return host.hostname, host.epoch, digest.digest()


def verify_forwarded(
    forwarded: ForwardedCertificate,
    host: HostConfig,
    *,
    version: str,
    now: dt.datetime,
    max_depth: int,
    cache: VerificationCache = results,
) -> CertificateResult:
    """Verify ``forwarded`` against only ``host``'s CAs at ``now``, through ``cache``."""
    key = cache_key(host, forwarded)
    cached = cache.get(version, key, now)
    if cached is not None:
        return cached
    result = _verify(forwarded, host, now=now, max_depth=max_depth)
    cache.put(version, key, result)
    return result


def _verify(
    forwarded: ForwardedCertificate, host: HostConfig, *, now: dt.datetime, max_depth: int
) -> CertificateResult:
    try:
        loaded = load_chain(forwarded)
    except ForwardedCertError as exc:
        return CertificateResult(None, exc.reason, exc.detail, None, now + FAILURE_TTL)
    presented = presented_identity(loaded.leaf)
    try:
        verified = verify_client_chain(
            loaded.leaf, loaded.intermediates, host.anchors, now=now, max_depth=max_depth
        )
    except ChainError as exc:
        return CertificateResult(None, exc.reason, exc.detail, presented, now + FAILURE_TTL)
    expires_at = min(now + RESULT_TTL, *(cert.not_valid_after_utc for cert in verified.chain))
    return CertificateResult(verified.identity, None, "", presented, expires_at)
