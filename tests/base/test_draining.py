"""What a stopping process still holds is finished first: every registered drain runs, in
order, sharing one deadline; one that fails or runs out of time is logged and the next runs."""

from __future__ import annotations

import logging

import pytest

from apps.base import draining


@pytest.fixture
def drains(monkeypatch) -> list[str]:
    """No drains but the test's own; the names of those that ran, in order."""
    monkeypatch.setattr(draining, "_drains", {})
    return []


def test_every_drain_runs_in_the_order_registered_and_all_finished_is_true(drains):
    draining.register_drain("first", lambda timeout: drains.append("first") or True)
    draining.register_drain("second", lambda timeout: drains.append("second") or True)
    assert draining.drain_all(timeout=5) is True
    assert drains == ["first", "second"]


def test_a_failing_drain_is_logged_and_the_next_one_still_runs(drains, caplog):
    def broken(timeout: float) -> bool:
        raise RuntimeError("mail server gone")

    draining.register_drain("mail", broken)
    draining.register_drain("access log", lambda timeout: drains.append("access log") or True)
    with caplog.at_level(logging.ERROR, logger="apps.base.draining"):
        assert draining.drain_all(timeout=5) is False
    assert drains == ["access log"]
    assert "could not finish the mail before stopping" in caplog.text
    assert "mail server gone" in caplog.text


def test_a_drain_that_runs_out_of_time_says_so_and_the_deadline_is_shared(drains, caplog):
    given: list[float] = []
    draining.register_drain("slow", lambda timeout: given.append(timeout) or False)
    draining.register_drain("next", lambda timeout: given.append(timeout) or True)
    with caplog.at_level(logging.ERROR, logger="apps.base.draining"):
        assert draining.drain_all(timeout=2) is False
    assert "stopped before the slow was finished" in caplog.text
    assert 0 < given[1] <= given[0] <= 2


def test_the_access_log_and_the_pin_mail_are_drained_when_a_worker_stops(db):
    # The apps register theirs as they load (apps.traffic, apps.identity).
    assert {"access log", "one-time PIN mail"} <= set(draining._drains)
