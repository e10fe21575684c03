"""The Prometheus metrics, counted by the recorder's background thread, never per request.

Under gunicorn every worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (set by
``accessctl/gunicorn.conf.py``) and a scrape, answered by any one worker, adds them up
(``prometheus_client.multiprocess``). Without that directory (``manage.py runserver``, tests)
the process's own registry is served.

- ``accessctl_decisions_total{hostname, decision, reason}``: access decisions (the access
  log's decision labels, Bypass included). ``hostname`` is a hostname of the configuration or
  empty, never a client's arbitrary Host.
- ``accessctl_decision_duration_seconds``: histogram of the time accessctl spent deciding a
  request (verification, policies, session), the origin's own time excluded.
- ``accessctl_verification_cache_hits_total`` / ``_misses_total``: certificate verification
  answered from the worker's memory, or verified anew.
- ``accessctl_remembered_rulings_hits_total``: requests answered from a ruling remembered a
  moment ago (``apps.gateway.remembered``: the same certificate, hostname and path, no cookie),
  which make no decision and ask no verification cache.
- ``accessctl_config_staleness_seconds``: seconds since a worker last confirmed its
  configuration, the largest over the live workers (guarded hostnames answer 503 past
  ``ACCESSCTL_CONFIG_MAX_STALENESS``).
- ``accessctl_recorder_dropped_total{why}``: decisions left out of the dashboard's access log
  and inventory, because a worker's queue was full (``queue_full``) or writing failed
  (``write_failed``); the stderr line is never left out.
- ``accessctl_crl_age_seconds{bundle, ca}`` and ``accessctl_crl_next_update_seconds{bundle,
  ca}``: each stored CRL's age (since its thisUpdate) and the time left to its nextUpdate
  (negative once stale), read from the database when scraped.
"""

from __future__ import annotations

import bisect
import os
from collections import Counter as Tally
from collections.abc import Iterator, Sequence
from typing import Protocol

from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from apps.gateway import config, remembered, verification
from apps.revocation.models import CertificateRevocationList
from apps.traffic.seen import Seen

CONTENT_TYPE = CONTENT_TYPE_LATEST

DECISIONS = Counter(
    "accessctl_decisions",
    "Access decisions by hostname, decision and reason code.",
    ["hostname", "decision", "reason"],
)
DECISION_SECONDS = Histogram(
    "accessctl_decision_duration_seconds",
    "Time accessctl spent deciding a request (verification, policies, session).",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0),
)
CACHE_HITS = Counter(
    "accessctl_verification_cache_hits",
    "Certificate verifications answered from the worker's memory.",
)
CACHE_MISSES = Counter(
    "accessctl_verification_cache_misses",
    "Certificate verifications not found in the worker's memory (verified anew).",
)
REMEMBERED_HITS = Counter(
    "accessctl_remembered_rulings_hits",
    "Requests answered from a ruling remembered a moment ago (no decision made).",
)
STALENESS = Gauge(
    "accessctl_config_staleness_seconds",
    "Seconds since a worker last confirmed its configuration (the largest over the workers).",
    multiprocess_mode="livemax",
)
DROPPED = Counter(
    "accessctl_recorder_dropped",
    "Decisions left out of the dashboard's access log and inventory.",
    ["why"],
)


class Counts(Protocol):
    """What :func:`observe` reads of the recorder."""

    dropped: int
    failed: int


# What the counters were at the previous observation (they only grow; the recorder's are
# reset by tests, which then starts the deltas again).
_last = {"hits": 0, "misses": 0, "remembered": 0, "dropped": 0, "failed": 0}


def observe(batch: Sequence[Seen], recorder: Counts) -> None:
    """Count one batch of records, and bring the worker's gauges and counters up to date."""
    tally: Tally[tuple[str, str, str]] = Tally()
    for seen in batch:
        ruling = seen.ruling
        hostname = ruling.hostname if ruling.host_config is not None else None
        tally[(hostname or "", seen.decision, str(ruling.reason))] += 1
    observe_all(DECISION_SECONDS, [seen.elapsed for seen in batch])
    for (hostname, decision, reason), count in tally.items():
        DECISIONS.labels(hostname, decision, reason).inc(count)
    now = {
        "hits": verification.results.hits,
        "misses": verification.results.misses,
        "remembered": remembered.rulings.hits,
        "dropped": recorder.dropped,
        "failed": recorder.failed,
    }
    counters = (("hits", CACHE_HITS), ("misses", CACHE_MISSES), ("remembered", REMEMBERED_HITS))
    for key, counter in counters:
        if now[key] > _last[key]:
            counter.inc(now[key] - _last[key])
    for key, why in (("dropped", "queue_full"), ("failed", "write_failed")):
        if now[key] > _last[key]:
            DROPPED.labels(why).inc(now[key] - _last[key])
    _last.update(now)
    # Asked here, every flush interval, so that an idle worker still confirms its
    # configuration (a version-stamp read) and the gauge means what it says.
    config.current_snapshot()
    STALENESS.set(config.holder.confirmed_age())


def observe_all(histogram: Histogram, amounts: Sequence[float]) -> None:
    """``histogram.observe(amount)`` for every amount, in one increment per bucket and one of
    the sum: under gunicorn each increment is a locked write to the worker's metrics file, and
    the recorder's thread holds the GIL that the requests of its worker need. Falls back to
    ``observe`` one by one if prometheus_client no longer keeps its buckets where this reads
    them."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if not amounts:
        return
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for amount in amounts:
            histogram.observe(amount)
        return
    # observe() counts an amount in the first bucket whose upper bound is >= it.
    per_bucket = Tally(bisect.bisect_left(bounds, amount) for amount in amounts)
    total.inc(sum(amounts))
    for index, count in sorted(per_bucket.items()):
        buckets[index].inc(count)


class CrlCollector(Collector):
    """The stored CRLs' age and time to their next update, read when scraped."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        age = GaugeMetricFamily(
            "accessctl_crl_age_seconds",
            "Seconds since the stored CRL's thisUpdate.",
            labels=["bundle", "ca"],
        )
        left = GaugeMetricFamily(
            "accessctl_crl_next_update_seconds",
            "Seconds to the stored CRL's nextUpdate (negative once it is stale).",
            labels=["bundle", "ca"],
        )
        crls = CertificateRevocationList.objects.select_related("ca__bundle").order_by("id")
        for crl in crls:
            labels = [crl.ca.bundle.name, crl.ca.subject]
            age.add_metric(labels, (now - crl.this_update).total_seconds())
            left.add_metric(labels, (crl.next_update - now).total_seconds())
        yield age
        yield left


def exposition() -> bytes:
    """The metrics in Prometheus's text format: every worker's (under gunicorn), and the
    CRLs' ages from the database."""
    crls = CollectorRegistry()
    crls.register(CrlCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry) + generate_latest(crls)
    return generate_latest(REGISTRY) + generate_latest(crls)
