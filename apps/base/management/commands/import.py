"""`accessctl import FILE|-`: restore an export into an empty database.

    accessctl migrate && accessctl import backup.json

All or nothing, in one transaction, through the dashboard's own services and checks. A
database that already holds a configuration is refused, and so is a file that is not an
export or that any check refuses: one line on stderr, exit code 2, nothing written.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.base.cli import bad_input
from apps.base.portability import ImportRefused, import_configuration, parse_document


class Command(BaseCommand):
    help = "Restore an `accessctl export` into an empty database (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="the export, or - to read stdin")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        try:
            if path == "-":
                stream = getattr(sys.stdin, "buffer", None)
                data = stream.read() if stream is not None else sys.stdin.read().encode()
            else:
                with open(path, "rb") as handle:
                    data = handle.read()
        except OSError as exc:
            raise bad_input(f"cannot read {path!r}: {exc.strerror}") from None
        try:
            restored = import_configuration(parse_document(data))
        except ImportRefused as exc:
            raise bad_input(f"import refused, nothing written: {exc}") from None
        self.stdout.write("imported: " + ("; ".join(restored) or "an empty configuration"))
