"""Writing one recorded batch (the recorder's background thread): the access log rows in bulk,
the inventory tallied per fingerprint first.

Several workers write at once, so the inventory is written as "insert if missing, then add":
a row is created with nothing counted (``ignore_conflicts``: another worker may have made it
meanwhile), then each counter is incremented in the database (``F() + n``), never read,
summed and written back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest, Least

from accessctl.core.traffic import LeafTally, tally_leaves
from apps.traffic.export import COLUMNS
from apps.traffic.models import AccessLogEntry, ClientCertificate, ClientCertificateHostname
from apps.traffic.seen import Seen
from apps.trust.models import MtlsCertificate

_CHUNK = 500


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


def _insert_log(batch: Sequence[Seen]) -> None:
    """One ``executemany`` INSERT for the whole batch: a thousand model instances and the ORM's
    per-value preparation would cost the worker more than the database does."""
    meta = AccessLogEntry._meta
    quote = connection.ops.quote_name
    # Every column of the export is a concrete field whose column is its name.
    by_name = {field.name: field.column for field in meta.concrete_fields}
    columns = ", ".join(quote(by_name[name]) for name in COLUMNS)
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(sql, [_log_row(seen, adapt) for seen in batch])


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


def _write_inventory(leaves: dict[str, LeafTally]) -> None:
    # Every worker locks the rows it inserts and updates in the same order (by fingerprint,
    # then hostname): two workers' batches then wait for each other instead of deadlocking.
    fingerprints = sorted(leaves)
    ids: dict[str, int] = {}
    for chunk in _chunks(fingerprints):
        ids.update(
            ClientCertificate.objects.filter(fingerprint_sha256__in=chunk).values_list(
                "fingerprint_sha256", "id"
            )
        )
    new = [_new_certificate(leaves[fp]) for fp in fingerprints if fp not in ids]
    if new:
        ClientCertificate.objects.bulk_create(new, batch_size=_CHUNK, ignore_conflicts=True)
        for chunk in _chunks([fp for fp in fingerprints if fp not in ids]):
            ids.update(
                ClientCertificate.objects.filter(fingerprint_sha256__in=chunk).values_list(
                    "fingerprint_sha256", "id"
                )
            )
    hostname_rows = []
    for fp in fingerprints:
        leaf = leaves[fp]
        ClientCertificate.objects.filter(id=ids[fp]).update(
            request_count=F("request_count") + leaf.seen.count,
            first_seen=Least(F("first_seen"), _when(leaf.seen.first)),
            last_seen=Greatest(F("last_seen"), _when(leaf.seen.last)),
        )
        hostname_rows += [
            ClientCertificateHostname(
                certificate_id=ids[fp],
                hostname=hostname,
                first_seen=_when(tally.first),
                last_seen=_when(tally.first),
            )
            for hostname, tally in sorted(leaf.hostnames.items())
        ]
    ClientCertificateHostname.objects.bulk_create(
        hostname_rows, batch_size=_CHUNK, ignore_conflicts=True
    )
    for fp in fingerprints:
        for hostname, tally in sorted(leaves[fp].hostnames.items()):
            ClientCertificateHostname.objects.filter(
                certificate_id=ids[fp], hostname=hostname
            ).update(
                request_count=F("request_count") + tally.count,
                first_seen=Least(F("first_seen"), _when(tally.first)),
                last_seen=Greatest(F("last_seen"), _when(tally.last)),
            )


def _new_certificate(leaf: LeafTally) -> ClientCertificate:
    """An inventory row with nothing counted yet (the counts are added right after)."""
    identity = leaf.identity
    first = _when(leaf.seen.first)
    return ClientCertificate(
        fingerprint_sha256=identity.fingerprint_sha256,
        subject=identity.subject,
        common_name=(identity.common_name or "")[:256],
        san_dns=list(identity.san_dns),
        san_emails=list(identity.san_emails),
        san_uris=list(identity.san_uris),
        issuer=identity.issuer,
        ca=_issuing_ca(identity.issuer, leaf.hostnames),
        serial=identity.serial[:64],
        not_before=identity.not_before,
        not_after=identity.not_after,
        first_seen=first,
        last_seen=first,
        request_count=0,
    )


def _issuing_ca(issuer: str, hostnames: Iterable[str]) -> MtlsCertificate | None:
    """The uploaded bundle bound to one of ``hostnames`` holding the leaf's issuer."""
    return (
        MtlsCertificate.objects.filter(
            certificates__subject=issuer, hostnames__hostname__in=list(hostnames)
        )
        .order_by("id")
        .first()
    )
