"""The request path's bounded, expiring memory (accessctl/core/memo.py)."""

from __future__ import annotations

import datetime as dt

from accessctl.core.memo import ExpiringLru

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def test_a_value_is_answered_inside_its_window_only():
    memory: ExpiringLru[str, int] = ExpiringLru(10)
    memory.put("k", 1, NOW + HOUR, valid_from=NOW)
    assert memory.get("k", NOW) == 1
    assert memory.get("k", NOW - dt.timedelta(seconds=1)) is None, "before its window"
    assert len(memory) == 0, "an entry found outside its window is dropped"
    memory.put("k", 1, NOW + HOUR)
    assert memory.get("k", NOW + HOUR) is None, "the end is exclusive"


def test_the_least_recently_used_goes_first_when_full():
    memory: ExpiringLru[str, int] = ExpiringLru(2)
    memory.put("a", 1, NOW + HOUR)
    memory.put("b", 2, NOW + HOUR)
    assert memory.get("a", NOW) == 1  # a is now the most recently used
    memory.put("c", 3, NOW + HOUR)
    assert memory.get("b", NOW) is None
    assert (memory.get("a", NOW), memory.get("c", NOW)) == (1, 3)
    assert len(memory) == 2


def test_clear_forgets_everything():
    memory: ExpiringLru[str, int] = ExpiringLru(2)
    memory.put("a", 1, NOW + HOUR)
    memory.clear()
    assert memory.get("a", NOW) is None
