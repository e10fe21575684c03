"""`accessctl accesslog prune|export`: the dashboard's access log from the command line."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.base.cli import bad_input
from apps.base.conf import access_settings
from apps.traffic.choices import Decision
from apps.traffic.export import FORMATS, export
from apps.traffic.models import AccessLogEntry
from apps.traffic.services import access_log_prune


def _moment(value: str, flag: str) -> dt.datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise bad_input(
                f"{flag}: {value!r} is not a date or time (2026-05-01 or 2026-05-01T12:00:00Z)"
            ) from None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)


class Command(BaseCommand):
    help = (
        "The access log the dashboard shows. `prune` deletes decisions older than the "
        "retention (ACCESSCTL_ACCESS_LOG_RETENTION_DAYS, default 30; run it daily); `export` "
        "writes them as CSV or JSON, filtered like the dashboard's list."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{prune,export}")
        prune = actions.add_parser("prune", help="delete decisions older than the retention")
        prune.add_argument(
            "--days", type=int, help="keep this many days instead of the retention setting"
        )
        out = actions.add_parser("export", help="write decisions as CSV or JSON")
        out.add_argument("--format", choices=FORMATS, default="csv")
        out.add_argument("--hostname", action="append", default=[], help="repeatable")
        out.add_argument("--decision", action="append", default=[], choices=Decision.values)
        out.add_argument("--reason", action="append", default=[], help="a reason code")
        out.add_argument("--fingerprint", help="one certificate's SHA-256 fingerprint")
        out.add_argument("--since", help="from this time (ISO 8601; UTC when no offset)")
        out.add_argument("--until", help="before this time")
        out.add_argument("--output", "-o", help="a file instead of standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "prune":
            days = options["days"]
            if days is not None and days < 1:
                raise bad_input("--days must be at least 1")
            older = dt.timedelta(days=days) if days else access_settings().access_log_retention
            deleted = access_log_prune(now=timezone.now(), older_than=older)
            self.stdout.write(f"Deleted {deleted} access log entries older than {older.days} days.")
            return
        entries = AccessLogEntry.objects.order_by("time", "id")
        if options["hostname"]:
            entries = entries.filter(hostname__in=[h.lower() for h in options["hostname"]])
        if options["decision"]:
            entries = entries.filter(decision__in=options["decision"])
        if options["reason"]:
            entries = entries.filter(reason__in=options["reason"])
        if options["fingerprint"]:
            fingerprint = options["fingerprint"].replace(":", "").lower()
            entries = entries.filter(cert_fingerprint=fingerprint)
        if options["since"]:
            entries = entries.filter(time__gte=_moment(options["since"], "--since"))
        if options["until"]:
            entries = entries.filter(time__lt=_moment(options["until"], "--until"))
        chunks = export(entries, options["format"])
        if options["output"]:
            try:
                with open(options["output"], "w", encoding="utf-8", newline="") as target:
                    target.writelines(chunks)
            except OSError as exc:
                raise bad_input(f"--output: {exc.strerror}: {options['output']}") from None
            return
        for chunk in chunks:
            self.stdout.write(chunk, ending="")
