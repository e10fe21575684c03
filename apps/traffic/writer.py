"""Writing one recorded batch (the recorder's background thread): the access log rows in bulk,
the inventory tallied per fingerprint first.

Several workers write at once, so the inventory is written as "insert if missing, then add":
a row is created with nothing counted (``ignore_conflicts``: another worker may have made it
meanwhile), then each counter is incremented in the database (``count + n``), never read,
summed and written back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, models, transaction
from django.db.models.constants import OnConflict

from accessctl.core.traffic import LeafTally, Tally, tally_leaves
from apps.traffic.export import COLUMNS
from apps.traffic.models import AccessLogEntry, ClientCertificate, ClientCertificateHostname
from apps.traffic.seen import Seen
from apps.trust.models import MtlsCertificate

_CHUNK = 500
# Rows per INSERT statement, within PostgreSQL's 65,535 parameters: a batch of 1,000 access log
# rows is 2 statements there, and 18 on SQLite, whose backend takes 999 parameters
# (bulk_batch_size: 58 rows of 17 columns).
_ROWS_PER_STATEMENT = 500


def _when(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _log_row(seen: Seen, adapt_time: Callable[[dt.datetime], Any]) -> tuple[Any, ...]:
    """The access log row of one recorded ruling: the values of the export's columns
    (:data:`apps.traffic.export.COLUMNS`), in their order."""
    ruling = seen.ruling
    outcome = ruling.outcome
    policy = outcome.policy if outcome else None
    application = ruling.application
    cert = ruling.certificate
    return (
        adapt_time(_when(seen.time)),
        seen.hostname,
        seen.method,
        seen.path,
        seen.decision,
        str(ruling.reason),
        ruling.detail[:300],
        application.id if application else None,
        application.name[:200] if application else "",
        policy.id if policy else None,
        policy.name[:200] if policy else "",
        (cert.common_name or "")[:256] if cert else "",
        cert.fingerprint_sha256 if cert else "",
        ruling.certificate_verified,
        (ruling.facts.person.email[:254] if ruling.facts and ruling.facts.person else ""),
        seen.client_ip[:64],
        ruling.request_id[:64],
    )


def _insert(
    model: type[models.Model],
    fields: list[models.Field[Any, Any]],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool,
) -> None:
    """``INSERT INTO <table> (<fields' columns>) VALUES (…), (…), …``: the rows (values in the
    order of ``fields``, prepared for the database) written by multi-row statements, as
    many rows to a statement as the backend takes (``bulk_batch_size``, at most
    :data:`_ROWS_PER_STATEMENT`). With ``ignore_conflicts`` a row whose unique key exists is
    skipped (what ``bulk_create(ignore_conflicts=True)`` writes, without a model instance per
    row).

    Not ``executemany``: the sqlite3 module steps the statement once per row, releasing and
    taking back the GIL each time, so on a busy worker every row waited for the request
    thread. A statement per 58 rows (SQLite) or 500 (PostgreSQL) took about 30 µs off the
    worker's CPU per decision under gunicorn (docs/performance.md)."""
    if not rows:
        return
    ops = connection.ops
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    # INSERT OR IGNORE on SQLite, ON CONFLICT DO NOTHING on PostgreSQL: the backend says which.
    suffix = ops.on_conflict_suffix_sql(fields, on_conflict, [], [])
    head = (
        f"{ops.insert_statement(on_conflict=on_conflict)} {ops.quote_name(model._meta.db_table)}"
        f" ({', '.join(ops.quote_name(field.column) for field in fields)}) "
    )
    size = max(1, min(_ROWS_PER_STATEMENT, ops.bulk_batch_size(fields, rows)))
    placeholders = f"({', '.join(['%s'] * len(fields))})"
    tail = f" {suffix}" if suffix else ""
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            values = ", ".join([placeholders] * len(chunk))
            cursor.execute(f"{head}VALUES {values}{tail}", [v for row in chunk for v in row])


def _fields(model: type[models.Model], names: Sequence[str]) -> list[models.Field[Any, Any]]:
    """The concrete fields of ``model`` called ``names`` (a foreign key by its name or its
    ``_id`` attribute), in that order."""
    fields = model._meta.concrete_fields
    by_name = {field.name: field for field in fields} | {field.attname: field for field in fields}
    return [by_name[name] for name in names]


def _insert_log(batch: Sequence[Seen]) -> None:
    """The batch's access log rows, by multi-row INSERTs: a thousand model instances and the
    ORM's per-value preparation would cost the worker more than the database does."""
    adapt = connection.ops.adapt_datetimefield_value
    rows = [_log_row(seen, adapt) for seen in batch]
    _insert(AccessLogEntry, _fields(AccessLogEntry, COLUMNS), rows, ignore_conflicts=False)


def _insert_missing(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (field name → value, the same names in each), skipping those whose
    unique key another worker wrote meanwhile; values prepared as the ORM would."""
    if not rows:
        return
    names = list(rows[0])
    fields = _fields(model, names)
    prepared = [
        [
            field.get_db_prep_save(row[name], connection)
            for name, field in zip(names, fields, strict=True)
        ]
        for row in rows
    ]
    _insert(model, fields, prepared, ignore_conflicts=True)


def write_batch(batch: Sequence[Seen]) -> None:
    """Write ``batch`` (oldest first): access log rows, then the inventory, in one transaction."""
    leaves = tally_leaves(
        (s.time, s.hostname, s.ruling.certificate)
        for s in batch
        if s.ruling.certificate_verified and s.ruling.certificate is not None
    )
    with transaction.atomic():
        _insert_log(batch)
        if leaves:
            _write_inventory(leaves)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _ids_of(fingerprints: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in _chunks(fingerprints):
        ids.update(
            ClientCertificate.objects.filter(fingerprint_sha256__in=chunk).values_list(
                "fingerprint_sha256", "id"
            )
        )
    return ids


def _write_inventory(leaves: dict[str, LeafTally]) -> None:
    # Every worker locks the rows it inserts and updates in the same order (by fingerprint,
    # then hostname): two workers' batches then wait for each other instead of deadlocking.
    # A batch costs a fixed number of statements, not some per leaf: the counts are added by
    # one executemany per table (a thousand ORM updates cost the worker's request thread
    # milliseconds each).
    fingerprints = sorted(leaves)
    ids = _ids_of(fingerprints)
    missing = [fp for fp in fingerprints if fp not in ids]
    if missing:
        cas = _issuing_cas([leaves[fp] for fp in missing])
        _insert_missing(
            ClientCertificate, [_new_certificate(leaves[fp], cas[fp]) for fp in missing]
        )
        ids.update(_ids_of(missing))
    reached = [
        (ids[fp], hostname, tally)
        for fp in fingerprints
        for hostname, tally in sorted(leaves[fp].hostnames.items())
    ]
    _add_counts(
        ClientCertificate,
        ("id",),
        [(leaves[fp].seen, (ids[fp],)) for fp in fingerprints],
    )
    _insert_missing(
        ClientCertificateHostname,
        [
            {
                "certificate_id": certificate_id,
                "hostname": hostname,
                "first_seen": _when(tally.first),
                "last_seen": _when(tally.first),
                "request_count": 0,
            }
            for certificate_id, hostname, tally in reached
        ],
    )
    _add_counts(
        ClientCertificateHostname,
        ("certificate_id", "hostname"),
        [(tally, (certificate_id, hostname)) for certificate_id, hostname, tally in reached],
    )


def _add_counts(
    model: type[models.Model], keys: Sequence[str], rows: Sequence[tuple[Tally, tuple[Any, ...]]]
) -> None:
    """Add each tally to the row its key values name: ``request_count + n``, the earlier
    ``first_seen`` and the later ``last_seen``, computed by the database (never read, summed
    and written back: other workers add to the same rows)."""
    meta = model._meta
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(_fields(model, [name])[0].column)

    # Django's Least and Greatest: MIN and MAX of two values on SQLite.
    least, greatest = ("MIN", "MAX") if connection.vendor == "sqlite" else ("LEAST", "GREATEST")
    count, first, last = column("request_count"), column("first_seen"), column("last_seen")
    where = " AND ".join(f"{column(key)} = %s" for key in keys)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {count} = {count} + %s, "  # noqa: S608
        f"{first} = {least}({first}, %s), {last} = {greatest}({last}, %s) WHERE {where}"
    )
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                (tally.count, adapt(_when(tally.first)), adapt(_when(tally.last)), *key)
                for tally, key in rows
            ],
        )


def _new_certificate(leaf: LeafTally, ca_id: int | None) -> dict[str, Any]:
    """An inventory row with nothing counted yet (the counts are added right after)."""
    identity = leaf.identity
    first = _when(leaf.seen.first)
    return {
        "fingerprint_sha256": identity.fingerprint_sha256,
        "subject": identity.subject,
        "common_name": (identity.common_name or "")[:256],
        "san_dns": list(identity.san_dns),
        "san_emails": list(identity.san_emails),
        "san_uris": list(identity.san_uris),
        "issuer": identity.issuer,
        "ca": ca_id,
        "serial": identity.serial[:64],
        "not_before": identity.not_before,
        "not_after": identity.not_after,
        "first_seen": first,
        "last_seen": first,
        "request_count": 0,
    }


def _issuing_cas(new: Sequence[LeafTally]) -> dict[str, int | None]:
    """Per fingerprint, the uploaded bundle (the lowest id) bound to one of the hostnames the
    leaf reached and holding its issuer; one query for the whole batch."""
    issuers = {leaf.identity.issuer for leaf in new}
    hostnames = {hostname for leaf in new for hostname in leaf.hostnames}
    bound: dict[tuple[str, str], int] = {}
    for ca_id, subject, hostname in MtlsCertificate.objects.filter(
        certificates__subject__in=issuers, hostnames__hostname__in=hostnames
    ).values_list("id", "certificates__subject", "hostnames__hostname"):
        bound[subject, hostname] = min(ca_id, bound.get((subject, hostname), ca_id))
    return {
        leaf.identity.fingerprint_sha256: min(
            (
                bound[leaf.identity.issuer, hostname]
                for hostname in leaf.hostnames
                if (leaf.identity.issuer, hostname) in bound
            ),
            default=None,
        )
        for leaf in new
    }
