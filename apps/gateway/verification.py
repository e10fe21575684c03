"""Verifying a forwarded certificate against a hostname's CAs, with a bounded result cache.

Verification of a leaf and an intermediate costs ~100 µs; the same client sends the same bytes
on every request, so results are cached, keyed by (hostname, SHA-256 of the raw header
values). The cache is emptied whenever the snapshot version changes, and an entry never lives
longer than ``CertificateCheck.valid_until`` (``accessctl.core.verify.RESULT_TTL``, since
verification depends on the time) nor past the ``not_after`` of any certificate of the
verified path.

Failures are cached too (so a client retrying a bad certificate costs a dictionary lookup), in
a separate, smaller LRU so that a flood of distinct bad certificates can never evict the
results of good clients. Both LRUs are bounded: memory stays flat whatever the traffic.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading

from accessctl.core.forwarded import ForwardedCertError, decode
from accessctl.core.memo import ExpiringLru
from accessctl.core.reasons import Reason
from accessctl.core.snapshot import HostConfig
from accessctl.core.verify import CertificateCheck, check_certificate

MAX_RESULTS = 10_000
MAX_FAILURES = 1_000
CacheKey = tuple[str, bytes]  # (hostname, digest of the DER)


class VerificationCache:
    """Bounded, thread-safe LRU caches of verification results, for one snapshot version."""

    def __init__(self, maxsize: int = MAX_RESULTS, failures_maxsize: int = MAX_FAILURES) -> None:
        self._lock = threading.Lock()
        self._good: ExpiringLru[CacheKey, CertificateCheck] = ExpiringLru(maxsize)
        self._bad: ExpiringLru[CacheKey, CertificateCheck] = ExpiringLru(failures_maxsize)
        self._version: str | None = None
        # Lookups answered from memory and not, since the process started (the metrics).
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._good) + len(self._bad)

    def get(self, version: str, key: CacheKey, now: dt.datetime) -> CertificateCheck | None:
        """The cached result, if still valid at ``now`` for snapshot ``version``."""
        with self._lock:
            if version != self._version:
                self._good.clear()
                self._bad.clear()
                self._version = version
                self.misses += 1
                return None
            found = self._good.get(key, now) or self._bad.get(key, now)
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
            return found

    def put(self, version: str, key: CacheKey, result: CertificateCheck) -> None:
        """Remember ``result`` (ignored if the snapshot version moved on meanwhile)."""
        with self._lock:
            if version == self._version:
                kept = self._good if result.identity else self._bad
                kept.put(key, result, result.valid_until)

    def clear(self) -> None:
        """Forget every result."""
        with self._lock:
            self._good.clear()
            self._bad.clear()


results = VerificationCache()


def cache_key(
    host_config: HostConfig, fmt: str, value: str, chain_value: str, max_depth: int
) -> CacheKey:
    """(hostname, SHA-256 over the format, the depth limit and the raw header values,
    length-prefixed). The raw values, not what they decode to: a client sends the same bytes
    every time, and a hit then costs one hash and no decoding at all. The hostname's CAs
    cannot change under a key: the whole cache is emptied when the snapshot version does."""
    # Length-prefixed: no value can spell the boundary to the next one.
    material = f"{fmt}\0{max_depth}\0{len(value)}\0{value}\0{chain_value}"
    return host_config.hostname, hashlib.sha256(
        material.encode("utf-8", "surrogateescape")
    ).digest()


def check_forwarded(
    value: str,
    chain_value: str,
    host_config: HostConfig,
    *,
    fmt: str,
    version: str,
    now: dt.datetime,
    max_depth: int,
    cache: VerificationCache = results,
) -> CertificateCheck:
    """Decode and verify what the terminator forwarded (``value``, and ``chain_value`` for
    formats with a second header) against only ``host_config``'s CAs at ``now``, through
    ``cache``.

    Decoding is :func:`accessctl.core.forwarded.decode`, verification
    :func:`accessctl.core.verify.check_certificate`, the one the policy tester calls too: this
    module adds only the cache around them. A value that cannot be decoded is a refusal, and
    cached as one, so that a client retrying the same garbage costs one hash.
    """
    key = cache_key(host_config, fmt, value, chain_value, max_depth)
    cached = cache.get(version, key, now)
    if cached is not None:
        return cached
    try:
        forwarded = decode(fmt, value, chain_value, max_intermediates=max_depth)
    except ForwardedCertError as exc:
        result = CertificateCheck.refused(exc.reason, exc.detail, now)
    else:
        if forwarded is None:  # only blanks: no certificate, nothing worth remembering
            return CertificateCheck(None, Reason.NO_CERTIFICATE, "", None, now)
        result = check_certificate(forwarded, host_config.anchors, now=now, max_depth=max_depth)
    cache.put(version, key, result)
    return result
