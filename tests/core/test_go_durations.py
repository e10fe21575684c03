"""Session durations written as Go writes them, as Cloudflare's API takes them."""

from __future__ import annotations

import pytest

from accessctl.core.durations import InvalidDuration, parse_go_duration
from apps.policies.choices import go_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("24h", 86400),
        ("30m", 1800),
        ("0s", 0),
        ("0", 0),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("730h", 730 * 3600),
        ("90s", 90),
        ("300ms", 0),
        ("2h45m10s", 9910),
    ],
)
def test_go_durations_are_read_as_whole_seconds(text: str, seconds: int) -> None:
    assert parse_go_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "24", "-1h", "1d", "h", "1h 30m", "abc", "1e3s", "9" * 40 + "h"]
)
def test_anything_else_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(InvalidDuration):
        parse_go_duration(text)


@pytest.mark.parametrize("seconds", [0, 59, 1800, 5400, 86400, 30 * 86400])
def test_what_the_api_writes_reads_back_the_same(seconds: int) -> None:
    assert parse_go_duration(go_duration(seconds)) == seconds
