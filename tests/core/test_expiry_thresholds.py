"""Expiry is announced at 30, 14, 7 and 1 days, once per threshold, never a larger threshold
after a smaller one."""

from __future__ import annotations

import datetime as dt

from accessctl.core.expiry import describe_left, due_threshold, threshold_within

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def test_the_threshold_is_the_smallest_one_the_time_left_is_within():
    assert threshold_within(NOW + 31 * DAY, NOW) is None
    assert threshold_within(NOW + 30 * DAY, NOW) == 30
    assert threshold_within(NOW + 20 * DAY, NOW) == 30
    assert threshold_within(NOW + 14 * DAY, NOW) == 14
    assert threshold_within(NOW + 3 * DAY, NOW) == 7
    assert threshold_within(NOW + dt.timedelta(hours=5), NOW) == 1
    assert threshold_within(NOW - 3 * DAY, NOW) == 1  # expired: the last alert, if not sent


def test_each_threshold_is_announced_once():
    expiry = NOW + 20 * DAY
    assert due_threshold(expiry, NOW, set()) == 30
    assert due_threshold(expiry, NOW, {30}) is None
    assert due_threshold(expiry, NOW + 7 * DAY, {30}) == 14


def test_a_certificate_first_seen_late_gets_only_the_current_threshold():
    expiry = NOW + 5 * DAY
    assert due_threshold(expiry, NOW, set()) == 7
    # Two days later it is still within 7 days: nothing, and never the 30 or 14 days alert.
    assert due_threshold(expiry, NOW + 2 * DAY, {7}) is None
    assert due_threshold(expiry, NOW + dt.timedelta(days=4, hours=13), {7}) == 1


def test_the_time_left_reads_as_words():
    assert describe_left(NOW + 12 * DAY + dt.timedelta(hours=3), NOW) == "expires in 12 days"
    assert describe_left(NOW + dt.timedelta(hours=3), NOW) == "expires within a day"
    assert describe_left(NOW - 3 * DAY, NOW) == "expired 3 days ago"
    assert describe_left(NOW - dt.timedelta(hours=1), NOW) == "expired today"
