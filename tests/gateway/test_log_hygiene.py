"""An outage writes a few lines, not a flood: a backend going down or coming back is logged
once per worker per transition (with a count of what was refused meanwhile), and a 503 is an
access decision (one structured line with its reason), never an ERROR from django.request."""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError

from accessctl.core.reasons import Reason
from accessctl.core.request import IncomingRequest, Ruling, Verdict
from apps.base.backends import Backend, BackendHealth, backends
from apps.traffic.recorder import Recorder
from apps.traffic.seen import Seen
from tests.factories.backends import Clock, unreachable_database
from tests.factories.forwarded import escaped, fetch

pytestmark = pytest.mark.django_db


def backend_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "accessctl.backends"]


def test_a_backend_going_down_and_coming_back_is_two_lines_with_the_refusals_counted(caplog):
    clock = Clock()
    health = BackendHealth(clock)
    for _ in range(50):
        health.failed(Backend.DATABASE, OSError("connection refused\nsecond line"))
        health.refused()
        clock.now += 0.5
    for _ in range(5):
        health.answered(Backend.DATABASE)
    down, up = backend_lines(caplog)
    assert down.startswith("database unreachable (OSError: connection refused second line)")
    assert up == (
        "database reachable again after 25.0 s; 50 request(s) refused as unavailable meanwhile"
    )
    assert all(r.exc_info is None for r in caplog.records)


def test_each_backend_has_its_own_transitions(caplog):
    health = BackendHealth(Clock())
    health.failed(Backend.CACHE, ConnectionError("refused"))
    health.failed(Backend.DATABASE, ConnectionError("refused"))
    health.answered(Backend.CACHE)
    assert set(health.outages()) == {Backend.DATABASE}
    assert len(backend_lines(caplog)) == 3


def test_a_503_during_an_outage_is_an_access_line_and_no_django_error(
    client, guarded, pki, monkeypatch, settings, caplog, access_log
):
    assert fetch(client).status_code == 403
    unreachable_database(monkeypatch)()
    settings.ACCESSCTL_CONFIG_CHECK_INTERVAL = 0
    settings.ACCESSCTL_CONFIG_MAX_STALENESS = 0
    caplog.clear()
    with caplog.at_level(logging.INFO):
        for _ in range(20):
            assert fetch(client, cert=escaped(pki.leaf)).status_code == 503
    assert [r["reason"] for r in access_log.records[-20:]] == ["config_unconfirmed"] * 20
    assert not [r for r in caplog.records if r.name == "django.request"]
    assert not [r for r in caplog.records if r.exc_info]
    assert len(backend_lines(caplog)) == 1  # the database going down, once


def test_the_access_recorder_reports_an_unreachable_database_once_not_per_flush(caplog):
    def unreachable(batch) -> None:
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")

    broken = Recorder(write=unreachable, observe=lambda batch, recorder: None)
    req = IncomingRequest("127.0.0.1", "app.example.com", "/", {}, method="GET")
    ruling = Ruling(Verdict.DENY, Reason.CERTIFICATE_REQUIRED, "req-00000001", "app.example.com")
    for _ in range(5):
        broken._pending.append(broken_seen(req, ruling))
        assert broken.flush() == 0
    assert broken.failed == 5
    assert backend_lines(caplog) == [
        "database unreachable (OperationalError: connection to server at 127.0.0.1, port 5432"
        " failed); logged again when it answers"
    ]
    assert not [r for r in caplog.records if r.exc_info]
    backends.reset()


def broken_seen(req, ruling):
    return Seen(0.0, "app.example.com", "/", "GET", "127.0.0.1", ruling, 0.001)


def test_a_deadlock_in_the_recorder_is_one_line_and_no_outage(caplog):
    import psycopg

    def deadlocked(batch) -> None:
        error = OperationalError("deadlock detected")
        error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
        raise error

    busy = Recorder(write=deadlocked, observe=lambda batch, recorder: None)
    req = IncomingRequest("127.0.0.1", "app.example.com", "/", {}, method="GET")
    ruling = Ruling(Verdict.DENY, Reason.CERTIFICATE_REQUIRED, "req-00000001", "app.example.com")
    busy._pending.append(broken_seen(req, ruling))
    assert busy.flush() == 0
    assert backend_lines(caplog) == []
    assert [r.getMessage() for r in caplog.records] == [
        "could not write 1 access records (OperationalError: deadlock detected); dropped"
    ]
    assert not backends.outages()
