"""The verification-result cache: bounded, keyed by the raw header values and the hostname
(emptied with each new configuration version), never outliving the chain's validity or a
short TTL; a hit decodes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import tracemalloc
from urllib.parse import quote

import pytest

from accessctl.core.snapshot import HostConfig
from accessctl.core.verify import RESULT_TTL, CertificateCheck, TrustAnchors
from apps.gateway import verification
from apps.gateway.verification import VerificationCache, check_forwarded
from tests.factories import certs

NOW = certs.now()


@pytest.fixture(scope="module")
def host(root_ca, intermediate_ca) -> HostConfig:
    anchors = TrustAnchors.build([root_ca.cert], [intermediate_ca.cert])
    return HostConfig("app.example.com", anchors)


def forwarded(*issued) -> str:
    """The raw header an AWS ALB forwards: the URL-encoded PEM chain, leaf first."""
    return quote("".join(i.pem for i in issued), safe="+=/")


class Counting:
    """Counts calls of a function behind the cache (its verification, or its decoding)."""

    def __init__(self, monkeypatch, name: str = "check_certificate") -> None:
        self.calls = 0
        real = getattr(verification, name)

        def counted(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(verification, name, counted)


CountingVerify = Counting


def check(value, host, cache, *, now=NOW, version="v1"):
    return check_forwarded(
        value, "", host, fmt="alb", version=version, now=now, max_depth=4, cache=cache
    )


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
    check(fwd, host, cache, now=NOW + RESULT_TTL)
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


def test_a_new_snapshot_version_verifies_again(monkeypatch, host, intermediate_ca):
    counter = CountingVerify(monkeypatch)
    cache = VerificationCache()
    fwd = forwarded(certs.make_leaf(intermediate_ca))
    check(fwd, host, cache)
    check(fwd, host, cache, version="v2")
    check(fwd, host, cache, version="v2")
    assert counter.calls == 2


def test_the_result_is_per_hostname(host, root_ca, intermediate_ca):
    cache = VerificationCache()
    fwd = forwarded(certs.make_leaf(intermediate_ca))
    stranger = HostConfig("other.example.com", TrustAnchors.build([certs.make_ca("B").cert], []))
    assert check(fwd, host, cache).identity is not None
    assert check(fwd, stranger, cache).error == "chain_untrusted"


def test_the_forwarded_intermediates_are_part_of_the_key(monkeypatch, root_ca, intermediate_ca):
    # Only the root is uploaded: the leaf alone cannot be verified, the leaf with the
    # intermediate its terminator forwards can. A key of the leaf bytes alone would replay
    # one answer for the other.
    counter = CountingVerify(monkeypatch)
    cache = VerificationCache()
    root_only = HostConfig("app.example.com", TrustAnchors.build([root_ca.cert], []))
    leaf = certs.make_leaf(intermediate_ca)
    assert check(forwarded(leaf), root_only, cache).identity is None
    assert check(forwarded(leaf, intermediate_ca), root_only, cache).identity is not None
    assert check(forwarded(leaf), root_only, cache).identity is None
    assert counter.calls == 2


def test_a_hit_decodes_nothing_and_garbage_is_remembered_as_a_refusal(monkeypatch, host):
    decoded = Counting(monkeypatch, "decode")
    cache = VerificationCache()
    garbage = quote("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert [check(garbage, host, cache).error for _ in range(3)] == ["cert_malformed"] * 3
    assert decoded.calls == 1


def test_failures_are_cached_apart_and_cannot_evict_good_results(host, intermediate_ca):
    cache = VerificationCache(maxsize=4, failures_maxsize=2)
    good = [forwarded(certs.make_leaf(intermediate_ca, f"good-{n}")) for n in range(3)]
    for fwd in good:
        check(fwd, host, cache)
    stranger = certs.make_ca("Flood CA")
    for n in range(20):
        check(forwarded(certs.make_leaf(stranger, f"bad-{n}")), host, cache)
    assert len(cache) == 3 + 2
    key = verification.cache_key(host, "alb", good[0], "", 4)
    assert cache.get("v1", key, NOW) is not None


def _result(n: int) -> CertificateCheck:
    return CertificateCheck(None, None, "", None, NOW + dt.timedelta(hours=1))


def test_memory_stays_bounded_with_tens_of_thousands_of_certificates():
    cache = VerificationCache(maxsize=10_000, failures_maxsize=1_000)
    cache.get("v1", ("h", b""), NOW)  # adopt version v1
    identity_result = CertificateCheck(object(), None, "", None, NOW + dt.timedelta(hours=1))  # type: ignore[arg-type]

    def fill(start: int, count: int) -> None:
        for n in range(start, start + count):
            digest = hashlib.sha256(n.to_bytes(8, "big")).digest()
            cache.put("v1", ("h", digest), identity_result if n % 2 else _result(n))

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
