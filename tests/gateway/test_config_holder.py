"""The per-worker snapshot holder: checks the version at most once per interval, rebuilds on
change, is confirmed by the database or (database down) by the cache's copy of the same
version, fails closed after MAX_STALENESS without confirmation, and recovers by itself."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError

from accessctl.core.snapshot import Snapshot
from apps.base.backends import Reading, Source
from apps.gateway.config import ConfigHolder


class Store:
    """A fake version store (the database, and the cache's copy) with a controllable clock."""

    def __init__(self) -> None:
        self.version = "v1"
        self.down = False  # the database
        self.cached: str | None = None  # what the cache says while the database is down
        self.reads = 0
        self.builds: list[str] = []
        self.broken: set[str] = set()  # versions whose snapshot cannot be built
        self.now = 100.0

    def read(self) -> Reading:
        self.reads += 1
        if not self.down:
            return Reading(Source.DATABASE, self.version)
        if self.cached is not None:
            return Reading(Source.CACHE, self.cached)
        return Reading(None, None)

    def build(self, version: str) -> Snapshot:
        if self.down or version in self.broken:
            raise OperationalError("database unreachable")
        self.builds.append(version)
        return Snapshot(version)

    def holder(self) -> ConfigHolder:
        return ConfigHolder(read=self.read, build=self.build, clock=lambda: self.now)


@pytest.fixture
def store(settings) -> Store:
    settings.ACCESSCTL_CONFIG_CHECK_INTERVAL = 0.5
    settings.ACCESSCTL_CONFIG_MAX_STALENESS = 1.0
    return Store()


def test_the_first_request_loads_the_snapshot(store):
    assert store.holder().current().version == "v1"
    assert store.builds == ["v1"]


def test_the_version_is_read_at_most_once_per_interval(store):
    holder = store.holder()
    for _ in range(50):
        holder.current()
    assert store.reads == 1
    store.now += 0.5
    holder.current()
    assert store.reads == 2


def test_an_unchanged_version_is_not_rebuilt_and_a_new_one_is(store):
    holder = store.holder()
    holder.current()
    store.now += 1
    holder.current()
    assert store.builds == ["v1"]
    store.version = "v2"
    store.now += 1
    assert holder.current().version == "v2"
    assert store.builds == ["v1", "v2"]


def test_a_short_outage_keeps_serving_the_confirmed_snapshot(store):
    holder = store.holder()
    holder.current()
    store.down = True
    store.now += 0.6
    assert holder.current().version == "v1"  # unconfirmed for 0.6 s <= 1 s


def test_an_outage_longer_than_max_staleness_fails_closed(store):
    holder = store.holder()
    holder.current()
    store.down = True
    store.now += 0.6
    holder.current()
    store.now += 0.6
    assert holder.current() is None


def test_a_newer_version_that_cannot_be_loaded_fails_closed(store):
    holder = store.holder()
    holder.current()
    store.version = "v2"
    store.broken.add("v2")
    store.now += 0.6
    assert holder.current().version == "v1"  # not yet stale
    store.now += 0.6
    assert holder.current() is None  # never decides on the old configuration for long


def test_service_resumes_by_itself_when_the_store_is_back(store):
    holder = store.holder()
    holder.current()
    store.down = True
    store.now += 2
    assert holder.current() is None
    store.now += 0.3
    assert holder.current() is None  # within the interval: no retry, still closed
    store.down = False
    store.now += 0.3
    assert holder.current().version == "v1"


def test_no_snapshot_at_all_with_the_store_down_is_none(store):
    store.down = True
    assert store.holder().current() is None


def test_expire_forces_a_check_on_the_next_request(store):
    holder = store.holder()
    holder.current()
    store.version = "v2"
    holder.expire()
    assert holder.current().version == "v2"


def test_concurrent_requests_trigger_one_build(store):
    holder = store.holder()
    gate = threading.Barrier(8)
    results = []

    def worker():
        gate.wait()
        results.append(holder.current())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.builds == ["v1"]
    assert [r.version for r in results] == ["v1"] * 8


def test_the_snapshot_is_rebuilt_now_and_then_even_without_a_new_version(store):
    # A change that bypassed the signals (a queryset update) is enforced within a minute.
    holder = store.holder()
    holder.current()
    store.now += 30
    holder.current()
    assert store.builds == ["v1"]
    store.now += 31
    holder.current()
    assert store.builds == ["v1", "v1"]


def test_a_database_outage_is_served_for_as_long_as_the_cache_confirms_the_version(store):
    holder = store.holder()
    holder.current()
    store.down, store.cached = True, "v1"
    for _ in range(100):  # far longer than MAX_STALENESS
        store.now += 0.5
        assert holder.current().version == "v1"


def test_the_cache_never_confirms_another_version_than_the_one_served(store):
    # A change reached the cache, but the database is gone before this worker could load it.
    holder = store.holder()
    holder.current()
    store.down, store.cached = True, "v2"
    store.now += 0.6
    assert holder.current().version == "v1"  # not yet stale
    store.now += 0.6
    assert holder.current() is None


def test_the_database_decides_when_it_answers_even_if_the_cache_agrees_with_the_worker(store):
    # A writer that could not reach the cache: the database has v2, the cache still v1.
    holder = store.holder()
    holder.current()
    store.cached = "v1"
    store.version = "v2"
    store.now += 0.5
    assert holder.current().version == "v2"


def test_a_snapshot_that_cannot_be_built_is_not_confirmed_by_the_cache(store):
    holder = store.holder()
    holder.current()
    store.version = "v2"
    store.broken.add("v2")
    store.cached = "v1"
    store.now += 0.6
    holder.current()
    store.now += 0.6
    assert holder.current() is None  # the database said v2: v1 is no longer vouched for


def test_the_holder_says_who_confirmed_the_snapshot(store):
    holder = store.holder()
    snapshot, by, _ = holder.status()
    assert (snapshot.version, by) == ("v1", Source.DATABASE)
    store.down, store.cached = True, "v1"
    store.now += 0.5
    assert holder.status()[1] == Source.CACHE
