"""The recorder keeps rulings in bounded memory on the request path and writes them in bulk
off it; the stderr line is written as before."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accessctl.core.reasons import Reason
from accessctl.core.request import IncomingRequest, Ruling, Verdict
from apps.base import draining
from apps.traffic.models import AccessLogEntry
from apps.traffic.recorder import Recorder, recorder
from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import HOST

pytestmark = pytest.mark.django_db


def _ruling(verdict: Verdict = Verdict.DENY) -> tuple[IncomingRequest, Ruling]:
    req = IncomingRequest("127.0.0.1", HOST, "/", {}, method="GET")
    return req, Ruling(verdict, Reason.CERTIFICATE_REQUIRED, "req-00000001", HOST)


def drain_all_of(drains: dict, timeout: float) -> bool:
    """:func:`apps.base.draining.drain_all` with only ``drains`` registered."""
    kept = dict(draining._drains)
    draining._drains.clear()
    draining._drains.update(drains)
    try:
        return draining.drain_all(timeout)
    finally:
        draining._drains.clear()
        draining._drains.update(kept)


def _uncounted(batch, recorder) -> None:
    """No metrics for the recorders made here (their threads have no database)."""


def test_a_decision_is_queued_in_memory_and_written_only_when_flushed(
    client, guarded, pki, access_log
):
    assert fetch(client, cert=escaped(pki.leaf)).status_code == 200
    assert len(recorder) == 1
    assert not AccessLogEntry.objects.exists()
    # The structured line on stderr is still written at once.
    assert access_log.last["decision"] == "allow"
    assert recorder.flush() == 1
    entry = AccessLogEntry.objects.get()
    assert (entry.hostname, entry.decision, entry.reason) == (HOST, "allow", "policy_allow")
    assert entry.request_id == access_log.last["request_id"]
    assert len(recorder) == 0


def test_a_warm_guarded_request_runs_no_query_with_the_recorder_on(
    client, guarded, pki, django_assert_num_queries, settings
):
    # The configuration is checked on a timer (a query, by design): not between these two
    # requests, however slow the machine.
    settings.ACCESSCTL_CONFIG_MAX_STALENESS = 120
    settings.ACCESSCTL_CONFIG_CHECK_INTERVAL = 60
    fetch(client, cert=escaped(pki.leaf))  # builds the snapshot, signs a first token
    with django_assert_num_queries(0):
        assert fetch(client, cert=escaped(pki.leaf)).status_code == 200
    assert len(recorder) == 2


def test_dashboard_and_unguarded_requests_are_not_recorded(client, guarded):
    client.get("/admin/login/")
    fetch(client, host="nothing-here.example.com")
    assert len(recorder) == 0


def test_a_full_queue_drops_new_records_and_counts_them():
    written: list = []
    small = Recorder(max_pending=2, write=written.extend, observe=_uncounted)
    for _ in range(5):
        small.record(*_ruling(), 0.0)
    assert (len(small), small.dropped) == (2, 3)
    small.flush()
    assert len(written) == 2
    small.record(*_ruling(), 0.0)
    assert len(small) == 1


def test_a_batch_larger_than_a_statement_is_written_whole_by_a_few_multi_row_inserts():
    # A worker that could not write for a while holds up to MAX_PENDING records: more rows
    # than one statement may carry parameters (SQLite: 999, PostgreSQL: 65,535).
    big = Recorder(observe=_uncounted)
    for n in range(2_345):
        req, ruling = _ruling()
        big.record(req, dataclasses.replace(ruling, request_id=f"req-{n:08d}"), 0.0)
    with CaptureQueriesContext(connection) as queries:
        assert big.flush() == 2_345
    inserts = [q for q in queries if q["sql"].startswith("INSERT")]
    assert 1 < len(inserts) <= 2_345 // 40
    ids = set(AccessLogEntry.objects.values_list("request_id", flat=True))
    assert ids == {f"req-{n:08d}" for n in range(2_345)}


def test_a_failed_write_drops_its_batch_counts_it_and_the_next_batch_is_written():
    written: list = []

    def flaky(batch):
        if not written:
            written.append("failed once")
            raise RuntimeError("database down")
        written.extend(batch)

    flaky_recorder = Recorder(write=flaky, observe=_uncounted)
    flaky_recorder.record(*_ruling(), 0.0)
    assert flaky_recorder.flush() == 0
    assert flaky_recorder.failed == 1
    flaky_recorder.record(*_ruling(Verdict.ALLOW), 0.0)
    assert flaky_recorder.flush() == 1
    assert written[1].ruling.verdict is Verdict.ALLOW


def test_the_background_thread_writes_what_was_queued_without_being_asked(settings):
    settings.ACCESSCTL_TRAFFIC_FLUSH_SECONDS = 0.05
    arrived = threading.Event()
    background = Recorder(write=lambda batch: arrived.set(), observe=_uncounted)
    background.record(*_ruling(), 0.0)
    assert arrived.wait(10), "the recorder's thread never wrote the batch"
    assert len(background) == 0


def test_enough_records_wake_the_writer_before_its_interval(settings):
    settings.ACCESSCTL_TRAFFIC_FLUSH_SECONDS = 3600  # only the count can wake it
    arrived = threading.Event()
    background = Recorder(flush_at=3, write=lambda batch: arrived.set(), observe=_uncounted)
    for _ in range(3):
        background.record(*_ruling(), 0.0)
    assert arrived.wait(10), "three records did not wake the writer"


def test_recording_takes_no_lock_and_many_threads_lose_nothing():
    written: list = []
    shared = Recorder(write=written.extend, observe=_uncounted)

    def hammer():
        for _ in range(500):
            shared.record(*_ruling(), 0.0)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        shared.flush()
        time.sleep(0.001)
    shared.flush()
    assert len(written) == 2000


def test_drain_writes_what_is_queued_and_says_whether_it_was_written():
    written: list = []
    stopping = Recorder(write=written.extend, observe=_uncounted)
    stopping.record(*_ruling(), 0.0)
    assert stopping.drain(timeout=5) is True
    assert len(written) == 1 and len(stopping) == 0

    def down(batch):
        raise RuntimeError("database down")

    failing = Recorder(write=down, observe=_uncounted)
    failing.record(*_ruling(), 0.0)
    assert failing.drain(timeout=5) is False


def test_a_write_stuck_at_stop_is_left_behind_at_the_drain_deadline(caplog):
    stuck = threading.Event()
    stopping = Recorder(write=lambda batch: stuck.wait(30), observe=_uncounted)
    stopping.record(*_ruling(), 0.0)
    started = time.monotonic()
    try:
        assert drain_all_of({"access log": stopping.drain}, timeout=0.5) is False
        assert time.monotonic() - started < 5
    finally:
        stuck.set()
