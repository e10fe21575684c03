"""`accessctl notify`: email expiry alerts to the operators who asked for them."""

from __future__ import annotations

import smtplib
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.traffic.alerts import notify


class Command(BaseCommand):
    help = (
        "Email the operators who asked for expiry alerts about CA bundles and client "
        "certificates expiring within 30, 14, 7 and 1 days, once per threshold. Run it daily "
        "(cron or the shipped systemd timer, deploy/systemd/)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be sent; send nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = notify(now=timezone.now(), dry_run=options["dry_run"])
        except (smtplib.SMTPException, OSError) as exc:
            raise CommandError(
                f"could not send the expiry alerts (nothing remembered): {exc}"
            ) from None
        now = timezone.now()
        if not result.announced:
            self.stdout.write("No certificate reaches a new expiry threshold.")
            return
        verb = "Would send" if options["dry_run"] else "Sent"
        if not result.recipients:
            self.stdout.write(
                "Due, but no operator asked for expiry alerts (Expiry alerts, top right):"
            )
        else:
            self.stdout.write(f"{verb} to {', '.join(result.recipients)}:")
        for item, threshold in result.announced:
            self.stdout.write(f"  {item.line(now)} [{threshold}-day alert]")
