"""The `accessctl` console script is manage.py, installable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from accessctl.cli import main
from tests.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("accessctl")


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [str(c) for c in command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_installed_script_runs_management_commands_like_manage_py():
    require_tool(SCRIPT.exists(), f"{SCRIPT} is not installed (make install / pip install -e .)")
    script, manage = run(SCRIPT, "check"), run(sys.executable, "manage.py", "check")
    assert script.returncode == manage.returncode == 0
    assert script.stdout == manage.stdout
    assert "bootstrap_admin" in run(SCRIPT, "help").stdout


def test_an_unknown_command_is_an_error_that_names_it(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["accessctl", "no-such-command"])
    assert exit_.value.code == 1
    assert "Unknown command: 'no-such-command'" in capsys.readouterr().err
