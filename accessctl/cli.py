"""The `accessctl` console script: manage.py, installable."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a Django management command, e.g. `accessctl certificates list --json`.

    A database error (the server unreachable, above all) is one line on stderr and exit
    status 1, not a traceback: what the command was writing is rolled back with its
    transaction.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accessctl.settings")
    # A command serves no metrics: it must not leave metric files among gunicorn's workers'
    # (a cron job sharing the server's environment would add one per run).
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from django.core.management import execute_from_command_line
    from django.db import InterfaceError, OperationalError

    try:
        execute_from_command_line(argv if argv is not None else sys.argv)
    except (OperationalError, InterfaceError) as exc:
        problem = " ".join(str(exc).split())[:300]
        sys.stderr.write(f"accessctl: database error: {problem}\n")
        sys.exit(1)
