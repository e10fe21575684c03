"""The `accessctl` console script: manage.py, installable."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a Django management command, e.g. `accessctl certificates list --json`."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accessctl.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv if argv is not None else sys.argv)
