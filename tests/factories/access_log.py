"""The access decisions the gateway logs, captured as parsed JSON lines."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator

LOGGER = "accessctl.access"


class AccessLog(logging.Handler):
    """Collects the JSON lines of the accessctl.access logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(json.loads(record.getMessage()))

    @property
    def last(self) -> dict:
        assert self.records, "no access decision was logged"
        return self.records[-1]


@contextlib.contextmanager
def captured_access_log() -> Iterator[AccessLog]:
    """Every access decision logged inside the block (the ``access_log`` fixture)."""
    handler = AccessLog()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
