"""`accessctl export`: the whole configuration as one JSON document.

    accessctl export > backup.json
    accessctl export --output backup.json            # written with mode 0600
    accessctl export --without-secrets > shareable.json

Every app's section (apps.base.portability) in one read transaction. Signing keys are
included only in their encrypted form, or left out with ``--without-secrets``.
"""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.base.cli import bad_input
from apps.base.portability import ExportOptions, export_configuration


class Command(BaseCommand):
    help = "Write the whole configuration as JSON (restore it with `accessctl import`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", "-o", metavar="FILE", help="write to FILE (mode 0600) instead of stdout"
        )
        parser.add_argument(
            "--without-secrets",
            action="store_true",
            help="leave every secret out, even encrypted (signing keys: a restored server "
            "makes new ones)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        document = export_configuration(ExportOptions(secrets=not options["without_secrets"]))
        if document["left_out"]:
            # Stored, but no app section carries it: an import will not bring it back.
            self.stderr.write(
                "warning: not in the export (no export section yet): "
                + "; ".join(document["left_out"])
            )
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        path = options["output"]
        if not path or path == "-":
            self.stdout.write(text, ending="")
            return
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise bad_input(f"output: cannot write {path!r}: {exc.strerror}") from None
        self.stderr.write(f"exported to {path}")
