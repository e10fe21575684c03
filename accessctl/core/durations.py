"""Go-style durations, as Cloudflare's API writes session durations: ``24h``, ``1h30m``,
``30m``, ``0s``, ``300ms``, ``1.5h``.

:func:`parse_go_duration` reads what Go's ``time.ParseDuration`` reads (units ns, us/µs, ms,
s, m, h; decimals; several parts), without a sign: a session cannot last a negative time.
accessctl keeps whole seconds, so a fraction of a second is dropped.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# Seconds per unit, as Go's time package names them.
_UNITS: dict[str, Decimal] = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "µs": Decimal("1e-6"),
    "μs": Decimal("1e-6"),
    "ms": Decimal("1e-3"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
# Longer than any session anyone means (about 114 years): refused rather than overflowing.
MAX_SECONDS = 2**32 - 1


class InvalidDuration(ValueError):
    """The text is not a Go duration accessctl can store."""


def parse_go_duration(text: str) -> int:
    """Whole seconds of a Go duration (``"24h"`` → 86400, ``"0s"`` → 0)."""
    value = text.strip()
    if value in {"0", ""}:
        if value == "0":
            return 0
        raise InvalidDuration("A duration is empty; write it as Go does, e.g. 24h, 30m or 0s.")
    position, total = 0, Decimal(0)
    while position < len(value):
        match = _PART.match(value, position)
        if match is None:
            raise InvalidDuration(
                f"{text!r} is not a duration; write it as Go does, e.g. 24h, 1h30m, 30m or 0s "
                "(units ns, us, ms, s, m, h; no sign)."
            )
        try:
            total += Decimal(match.group(1)) * _UNITS[match.group(2)]
        except InvalidOperation:  # pragma: no cover - the pattern admits decimals only
            raise InvalidDuration(f"{text!r} is not a duration.") from None
        position = match.end()
    seconds = int(total)
    if seconds > MAX_SECONDS:
        raise InvalidDuration(f"{text!r} is longer than accessctl can store.")
    return seconds
