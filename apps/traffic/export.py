"""The access log as CSV or JSON, for the dashboard's export buttons and ``accessctl accesslog
export``: the same columns, in the same order, streamed row by row (a month of decisions need
not fit in memory)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from apps.traffic.models import AccessLogEntry

FORMATS = ("csv", "json")
COLUMNS = (
    "time",
    "hostname",
    "method",
    "path",
    "decision",
    "reason",
    "detail",
    "application_id",
    "application_name",
    "policy_id",
    "policy_name",
    "cert_common_name",
    "cert_fingerprint",
    "cert_verified",
    "identity_email",
    "client_ip",
    "request_id",
)
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
_CHUNK = 2000


def _value(value: Any) -> Any:
    return value.isoformat(timespec="milliseconds") if isinstance(value, dt.datetime) else value


def _rows(entries: QuerySet[AccessLogEntry]) -> Iterator[dict[str, Any]]:
    for row in entries.values(*COLUMNS).iterator(chunk_size=_CHUNK):
        yield {column: _value(row[column]) for column in COLUMNS}


def _csv_safe(value: Any) -> Any:
    # A cell starting with = + - @ is a formula to a spreadsheet: a path or a CN a client
    # chose must never run as one when an operator opens the export.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def as_csv(entries: QuerySet[AccessLogEntry]) -> Iterator[str]:
    """A header line, then one line per decision."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in _rows(entries):
        writer.writerow([_csv_safe(row[column]) for column in COLUMNS])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def as_json(entries: QuerySet[AccessLogEntry]) -> Iterator[str]:
    """A JSON array of objects, one per decision."""
    yield "["
    separator = "\n"
    for row in _rows(entries):
        yield separator + json.dumps(row)
        separator = ",\n"
    yield "\n]\n"


def export(entries: QuerySet[AccessLogEntry], fmt: str) -> Iterator[str]:
    """``entries`` in ``fmt`` (one of :data:`FORMATS`)."""
    return as_csv(entries) if fmt == "csv" else as_json(entries)
