"""A command run while the database is unreachable says so in one line and exits 1: no
traceback, and nothing reported as done."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.gateway.processes import free_port


def test_a_command_without_its_database_prints_one_line_and_exits_1(tmp_path):
    result = subprocess.run(
        [str(Path(sys.executable).with_name("accessctl")), "certificates", "remove", "Fleet"],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "accessctl.settings",
            "ACCESSCTL_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/accessctl",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("accessctl: database error: connection failed")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
