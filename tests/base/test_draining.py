"""What a stopping process still holds is finished first: every registered drain runs, side
by side, within one deadline; one that fails, or is still running at the deadline, is logged
and left behind, and the process leaves on time."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from apps.base import draining


@pytest.fixture
def drains(monkeypatch) -> list[str]:
    """No drains but the test's own; the names of those that finished."""
    monkeypatch.setattr(draining, "_drains", {})
    return []


def test_every_drain_runs_and_all_finished_is_true(drains):
    draining.register_drain("first", lambda timeout: drains.append("first") or True)
    draining.register_drain("second", lambda timeout: drains.append("second") or True)
    assert draining.drain_all(timeout=5) is True
    assert sorted(drains) == ["first", "second"]


def test_a_failing_drain_is_logged_and_the_others_still_run(drains, caplog):
    def broken(timeout: float) -> bool:
        raise RuntimeError("mail server gone")

    draining.register_drain("mail", broken)
    draining.register_drain("access log", lambda timeout: drains.append("access log") or True)
    with caplog.at_level(logging.ERROR, logger="apps.base.draining"):
        assert draining.drain_all(timeout=5) is False
    assert drains == ["access log"]
    assert "could not finish the mail before stopping" in caplog.text
    assert "mail server gone" in caplog.text


def test_a_drain_that_did_not_finish_says_so(drains, caplog):
    draining.register_drain("access log", lambda timeout: False)  # e.g. the write failed
    with caplog.at_level(logging.ERROR, logger="apps.base.draining"):
        assert draining.drain_all(timeout=5) is False
    assert "stopping with the access log not finished" in caplog.text


def test_a_stuck_drain_is_left_behind_at_the_deadline_and_holds_up_no_other(drains, caplog):
    stuck = threading.Event()
    draining.register_drain("mail", lambda timeout: stuck.wait(30))  # a server that never answers
    draining.register_drain("access log", lambda timeout: drains.append("access log") or True)
    started = time.monotonic()
    try:
        with caplog.at_level(logging.ERROR, logger="apps.base.draining"):
            assert draining.drain_all(timeout=0.5) is False
        assert time.monotonic() - started < 5  # left on time, not after the stuck drain
    finally:
        stuck.set()
    assert drains == ["access log"]
    assert "stopping with the mail not finished after 0.5 s" in caplog.text


def test_the_access_log_and_the_pin_mail_are_drained_when_a_worker_stops(db):
    # The apps register theirs as they load (apps.traffic, apps.identity).
    assert {"access log", "one-time PIN mail"} <= set(draining._drains)
