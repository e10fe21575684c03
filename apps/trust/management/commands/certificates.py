"""`accessctl certificates add|list|remove`: the Mutual TLS page, on the command line.

    accessctl certificates add --name "Acme CA" --hostname app.example.com chain.pem
    cat chain.pem | accessctl certificates add --name "Acme CA" --hostname app.example.com -
    accessctl certificates list --json
    accessctl certificates remove "Acme CA"

The checks are the dashboard's (``apps.trust.services``). Bad input prints one line on stderr
and exits with code 2; the bundle text (where a private key would be) is never printed.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from accessctl.core.pem import MAX_BUNDLE_BYTES, BundleError, decode_upload
from accessctl.core.truststore import short_fingerprint
from apps.base.cli import bad_input, one_line, read_input
from apps.trust.commands import certificates_extensions
from apps.trust.models import MtlsCertificate
from apps.trust.services import certificate_create, certificate_delete

FIELD_LABELS = {"name": "name", "pem": "certificate", "hostnames": "hostname"}


def as_dict(certificate: MtlsCertificate, now: Any) -> dict[str, Any]:
    """The JSON shape of one uploaded bundle (``list --json``)."""
    root = certificate.root
    not_after = certificate.not_after
    return {
        "name": certificate.name,
        "hostnames": certificate.hostname_list(),
        "fingerprints": [c.fingerprint_sha256 for c in certificate.certificates.all()],
        "subject": root.subject if root is not None else None,
        "not_after": not_after.isoformat() if not_after is not None else None,
        "days_left": certificate.days_left(now),
        "expiry": certificate.expiry_state(now).value,
        "enabled": certificate.enabled,
    }


class Command(BaseCommand):
    help = "Add, list and remove uploaded CA certificates (the same checks as the dashboard)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        add = sub.add_parser("add", help="upload a CA bundle (PEM) bound to hostnames")
        add.add_argument("--name", required=True, help="a name for the upload, unique")
        add.add_argument(
            "--hostname",
            dest="hostnames",
            metavar="HOST",
            action="append",
            required=True,
            help="an associated hostname; repeat for several",
        )
        add.add_argument("--disabled", action="store_true", help="upload it disabled")
        add.add_argument("file", metavar="FILE", help="the PEM file, or - to read standard input")
        listing = sub.add_parser("list", help="list uploaded CA certificates")
        listing.add_argument("--json", action="store_true", help="print a JSON array")
        remove = sub.add_parser("remove", help="remove an uploaded CA certificate by name")
        remove.add_argument("name")
        for extension in certificates_extensions():  # apps above the trust store
            extension.add_parsers(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        extension = next((e for e in certificates_extensions() if action in e.actions), None)
        if extension is not None:
            extension.handle(self, options)
        elif action == "add":
            self._add(options)
        elif action == "list":
            self._list(json_output=options["json"])
        else:
            self._remove(options["name"])

    def _add(self, options: dict[str, Any]) -> None:
        pem = self._read(options["file"])
        try:
            certificate = certificate_create(
                name=options["name"],
                pem=pem,
                hostnames=options["hostnames"],
                user=None,
                enabled=not options["disabled"],
            )
        except ValidationError as exc:
            raise bad_input(one_line(exc, FIELD_LABELS)) from None
        roots = [c for c in certificate.certificates.all() if c.is_root]
        self.stdout.write(
            f"added {certificate.name!r}: {certificate.certificates.count()} certificate(s), "
            f"root {short_fingerprint(roots[0].fingerprint_sha256)}, "
            f"hostnames {', '.join(certificate.hostname_list())}"
        )

    def _read(self, path: str) -> str:
        """The bundle text from a file or stdin, at most the size limit (plus one byte to tell)."""
        data = read_input(path, limit=MAX_BUNDLE_BYTES, label="certificate")
        try:
            return decode_upload(data)
        except BundleError as exc:
            raise bad_input(f"certificate: {exc.message}") from None

    def _list(self, *, json_output: bool) -> None:
        now = timezone.now()
        certificates = (
            MtlsCertificate.objects.with_expiry()
            .prefetch_related("hostnames", "certificates")
            .order_by("name")
        )
        rows = [as_dict(c, now) for c in certificates]
        if json_output:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("no CA certificate uploaded")
            return
        for row in rows:
            state = "" if row["enabled"] else " (disabled)"
            self.stdout.write(
                f"{row['name']}{state}: {', '.join(row['hostnames'])} | {row['subject']} | "
                f"expires {row['not_after']} ({row['days_left']} days left) | "
                f"SHA-256 {', '.join(short_fingerprint(fp) for fp in row['fingerprints'])}"
            )

    def _remove(self, name: str) -> None:
        certificate = MtlsCertificate.objects.filter(name=name).first()
        if certificate is None:
            raise bad_input(f"name: no uploaded certificate is named {name!r}")
        certificate_delete(certificate=certificate, user=None)
        self.stdout.write(f"removed {name!r}")
