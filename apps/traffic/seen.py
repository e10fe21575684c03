"""One ruling as the recorder keeps it until its batch is written."""

from __future__ import annotations

from typing import NamedTuple

from accessctl.core.reasons import Reason
from accessctl.core.request import Ruling


class Seen(NamedTuple):
    """What the access log row, the inventory and the metrics need of one ruling (a tuple:
    the cheapest record to make on the request path)."""

    time: float  # seconds since the epoch
    hostname: str
    path: str
    method: str
    client_ip: str
    ruling: Ruling
    elapsed: float  # seconds the decision and session step took

    @property
    def decision(self) -> str:
        """The access log's decision label (``bypass`` for a Bypass policy's pass)."""
        outcome = self.ruling.outcome
        if outcome is not None and outcome.allowed and outcome.reason == Reason.BYPASS:
            return "bypass"
        return self.ruling.verdict.value
