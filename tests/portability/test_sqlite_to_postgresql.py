"""The move of the deployment guide, for real: a varied configuration written into a SQLite
file, exported, imported into a fresh PostgreSQL database by another accessctl, decides every
request of a table exactly as before (verdict, reason, policy, session length, AUD tag).

Each side is its own process with its own DATABASE_URL (tests/portability/move.py), whatever
database the suite itself runs on. PostgreSQL is the one at 127.0.0.1:5432 (or the suite's,
when DATABASE_URL points at one); a database of its own is made and dropped. Unreachable, the
test is skipped locally and fails under CI=true.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tools import require_tool

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def _server_url() -> str:
    """The PostgreSQL server to use: the suite's when it runs on one, else the local one."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return urllib.parse.urlsplit(url)._replace(path="/postgres").geturl()
    return DEFAULT_SERVER


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """DATABASE_URL of a fresh, empty database, dropped afterwards."""
    import psycopg
    from psycopg import sql

    server = _server_url()
    name = f"test_portability_{os.getpid()}"
    try:
        admin = psycopg.connect(server, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        why = " ".join(str(exc).split())
        require_tool(False, f"PostgreSQL is not reachable at {server}: {why}")
        raise
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urllib.parse.urlsplit(server)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(drop)


def _side(action: str, directory: Path, database_url: str) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ACCESSCTL_", "DATABASE_URL", "CACHE_URL"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "accessctl.settings",
        "ACCESSCTL_ENV": "development",
        "ACCESSCTL_DATA_DIR": str(directory / f"data-{action}"),
        "DATABASE_URL": database_url,
        "CACHE_URL": "locmemcache://portability",
        # The same secrets on both sides, as the guide says: the signing keys move encrypted.
        "SECRET_KEY": "portability-" + "s" * 60,
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.portability.move", action, str(directory)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_a_configuration_moved_from_sqlite_to_postgresql_decides_every_request_as_before(
    postgres_url: str, tmp_path: Path
) -> None:
    _side("build", tmp_path, f"sqlite:///{tmp_path / 'embedded.sqlite3'}")
    _side("restore", tmp_path, postgres_url)

    table = json.loads((tmp_path / "table.json").read_text())["rows"]
    before = json.loads((tmp_path / "before.json").read_text())
    after = json.loads((tmp_path / "after.json").read_text())
    assert len(before) == len(after) == len(table) > 300
    changed = [(row, b, a) for row, b, a in zip(table, before, after, strict=True) if b != a]
    assert changed == []
    reasons = {decision[1] for decision in before}
    assert reasons >= {"bypass", "policy_allow", "policy_block", "no_matching_policy",
                       "certificate_required", "chain_untrusted", "no_application"}  # fmt: skip
    assert len({decision[4] for decision in before} - {None}) >= 5  # several AUD tags
    exported = json.loads((tmp_path / "export.json").read_text())
    assert len(exported["sections"]["tokens"]["signing_keys"]) == 1
