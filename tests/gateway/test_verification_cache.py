"""The verification-result cache: bounded, keyed by the bytes and the host's configuration,
never outliving the chain's validity or a short TTL (checklist H35)."""

from __future__ import annotations

import datetime as dt
import hashlib
import tracemalloc

import pytest

from accessctl.core.forwarded import ForwardedCertificate
from accessctl.core.snapshot import HostConfig
from accessctl.core.verify import TrustAnchors
from apps.gateway import verification
from apps.gateway.verification import CertificateResult, VerificationCache, verify_forwarded
from tests.factories import certs

NOW = certs.now()


@pytest.fixture(scope="module")
def host(root_ca, intermediate_ca) -> HostConfig:
    anchors = TrustAnchors.build([root_ca.cert], [intermediate_ca.cert])
    return HostConfig("app.example.com", anchors, (), "aud", "epoch-1")


def forwarded(leaf) -> ForwardedCertificate:
    return ForwardedCertificate(leaf.der)


class CountingVerify:
    """Counts real verifications behind the cache."""

    def __init__(self, monkeypatch) -> None:
        self.calls = 0
        real = verification._verify

        def counted(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(verification, "_verify", counted)


def check(fwd, host, cache, *, now=NOW, version="v1"):
    return verify_forwarded(fwd, host, version=version, now=now, max_depth=4, cache=cache)


def test_the_same_certificate_is_verified_once(monkeypatch, host, intermediate_ca):
    counter = CountingVerify(monkeypatch)
    cache = VerificationCache()
    leaf = certs.make_leaf(intermediate_ca)
    first = check(forwarded(leaf), host, cache)
    second = check(forwarded(leaf), host, cache, now=NOW + dt.timedelta(seconds=5))
    assert first.identity is not None and second is first
    assert counter.calls == 1


def test_a_result_lives_no_longer_than_the_ttl(monkeypatch, host, intermediate_ca):
    counter = CountingVerify(monkeypatch)
    cache = VerificationCache()
    fwd = forwarded(certs.make_leaf(intermediate_ca))
    check(fwd, host, cache)
    check(fwd, host, cache, now=NOW + verification.RESULT_TTL)
    assert counter.calls == 2


def test_a_result_never_outlives_the_leaf(monkeypatch, host, intermediate_ca):
    counter = CountingVerify(monkeypatch)
    cache = VerificationCache()
    leaf = certs.make_leaf(
        intermediate_ca,
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(seconds=10),
    )
    assert check(forwarded(leaf), host, cache).identity is not None
    later = check(forwarded(leaf), host, cache, now=NOW + dt.timedelta(seconds=11))
    assert later.identity is None and later.error == "cert_expired"
    assert counter.calls == 2


def test_a_new_snapshot_version_or_host_epoch_verifies_again(monkeypatch, host, intermediate_ca):
    counter = CountingVerify(monkeypatch)
    cache = VerificationCache()
    fwd = forwarded(certs.make_leaf(intermediate_ca))
    check(fwd, host, cache)
    check(fwd, host, cache, version="v2")
    other_epoch = HostConfig(host.hostname, host.anchors, (), "aud", "epoch-2")
    check(fwd, other_epoch, cache, version="v2")
    assert counter.calls == 3


def test_the_result_is_per_hostname(host, root_ca, intermediate_ca):
    cache = VerificationCache()
    fwd = forwarded(certs.make_leaf(intermediate_ca))
    stranger = HostConfig(
        "other.example.com", TrustAnchors.build([certs.make_ca("B").cert], []), (), "a", "e"
    )
    assert check(fwd, host, cache).identity is not None
    assert check(fwd, stranger, cache).error == "chain_untrusted"


def test_the_forwarded_intermediates_are_part_of_the_key(monkeypatch, root_ca, intermediate_ca):
    # Only the root is uploaded: the leaf alone cannot be verified, the leaf with the
    # intermediate its terminator forwards can. A key of the leaf bytes alone would replay
    # one answer for the other.
    counter = CountingVerify(monkeypatch)
    cache = VerificationCache()
    root_only = HostConfig(
        "app.example.com", TrustAnchors.build([root_ca.cert], []), (), "aud", "epoch-1"
    )
    leaf = certs.make_leaf(intermediate_ca)
    assert check(ForwardedCertificate(leaf.der), root_only, cache).identity is None
    with_chain = ForwardedCertificate(leaf.der, (intermediate_ca.der,))
    assert check(with_chain, root_only, cache).identity is not None
    assert check(ForwardedCertificate(leaf.der), root_only, cache).identity is None
    assert counter.calls == 2


def test_failures_are_cached_apart_and_cannot_evict_good_results(host, intermediate_ca):
    cache = VerificationCache(maxsize=4, failures_maxsize=2)
    good = [forwarded(certs.make_leaf(intermediate_ca, f"good-{n}")) for n in range(3)]
    for fwd in good:
        check(fwd, host, cache)
    stranger = certs.make_ca("Flood CA")
    for n in range(20):
        check(forwarded(certs.make_leaf(stranger, f"bad-{n}")), host, cache)
    assert len(cache) == 3 + 2
    key = verification.cache_key(host, good[0])
    assert cache.get("v1", key, NOW) is not None


def _result(n: int) -> CertificateResult:
    return CertificateResult(None, None, "", None, NOW + dt.timedelta(hours=1))


def test_memory_stays_bounded_with_tens_of_thousands_of_certificates():
    cache = VerificationCache(maxsize=10_000, failures_maxsize=1_000)
    cache.get("v1", ("h", "e", b""), NOW)  # adopt version v1
    identity_result = CertificateResult(object(), None, "", None, NOW + dt.timedelta(hours=1))  # type: ignore[arg-type]

    def fill(start: int, count: int) -> None:
        for n in range(start, start + count):
            digest = hashlib.sha256(n.to_bytes(8, "big")).digest()
            cache.put("v1", ("h", "e", digest), identity_result if n % 2 else _result(n))

    tracemalloc.start()
    fill(0, 30_000)
    assert len(cache) == 10_000 + 1_000
    after_first = tracemalloc.get_traced_memory()[0]
    fill(30_000, 30_000)
    grown = tracemalloc.get_traced_memory()[0] - after_first
    tracemalloc.stop()
    assert len(cache) == 11_000
    assert grown < 200_000  # 30k more certificates: replaced, not accumulated


def test_the_process_wide_cache_is_bounded_by_default():
    assert verification.results._good.maxsize == verification.MAX_RESULTS == 10_000
    assert verification.results._bad.maxsize == verification.MAX_FAILURES
