"""One side of a move between databases, run as its own process (``DATABASE_URL`` chooses
the database): ``python -m tests.portability.move build DIR`` or ``... restore DIR``.

``build`` migrates, writes the varied configuration of ``tests.factories.configuration``,
exports it to ``DIR/export.json`` and writes the table of requests (``DIR/table.json``) and
their decisions (``DIR/before.json``). ``restore`` migrates, imports ``DIR/export.json`` and
writes the decisions of the same table to ``DIR/after.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import django


def main(action: str, directory: Path) -> None:
    django.setup()
    from django.core.management import call_command

    from apps.tokens import keys
    from tests.factories import certs
    from tests.factories.configuration import (
        build_configuration,
        decisions,
        make_pki,
        requests_for,
    )

    call_command("migrate", verbosity=0)
    if action == "build":
        pki = make_pki()
        build_configuration(pki)
        keys.key_ring()  # the first signing key, as the first guarded request makes it
        call_command("export", "--output", str(directory / "export.json"))
        table, now = requests_for(pki), certs.now()
        (directory / "table.json").write_text(json.dumps({"now": now.isoformat(), "rows": table}))
        (directory / "before.json").write_text(json.dumps(decisions(table, now)))
    else:
        call_command("import", str(directory / "export.json"))
        asked = json.loads((directory / "table.json").read_text())
        rows = [tuple(row) for row in asked["rows"]]
        now = dt.datetime.fromisoformat(asked["now"])
        (directory / "after.json").write_text(json.dumps(decisions(rows, now)))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
