"""The shipped systemd units (deploy/systemd/) are valid, and each runs an existing command."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.tools import require_tool

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
JOBS = {"accessctl-notify": ["notify"], "accessctl-accesslog-prune": ["accesslog", "prune"]}


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


@pytest.mark.parametrize("job", sorted(JOBS))
def test_each_timer_starts_its_service_daily_and_the_service_runs_the_command(job):
    timer, service = _unit(UNITS / f"{job}.timer"), _unit(UNITS / f"{job}.service")
    assert timer["Timer"]["OnCalendar"] and timer["Timer"].getboolean("Persistent")
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert service["Service"]["Type"] == "oneshot"
    command = shlex.split(service["Service"]["ExecStart"])
    assert Path(command[0]).name == "accessctl" and command[1:] == JOBS[job]


@pytest.mark.django_db
@pytest.mark.parametrize("job", sorted(JOBS))
def test_the_services_commands_exist(job, capsys):
    with pytest.raises(SystemExit) as done:
        call_command(*JOBS[job], "--help")
    assert done.value.code == 0


@pytest.mark.parametrize("job", sorted(JOBS))
def test_systemd_accepts_the_units(job, tmp_path):
    analyze = shutil.which("systemd-analyze")
    require_tool(analyze is not None, "systemd-analyze (systemd) is not installed")
    # The units name the command where a package install puts it; point them at this one.
    accessctl = str(Path(sys.executable).with_name("accessctl"))
    for suffix in ("service", "timer"):
        text = (UNITS / f"{job}.{suffix}").read_text()
        (tmp_path / f"{job}.{suffix}").write_text(
            text.replace("/opt/accessctl/venv/bin/accessctl", accessctl)
        )
    done = subprocess.run(
        [
            analyze,
            "verify",
            "--man=no",
            str(tmp_path / f"{job}.timer"),
            str(tmp_path / f"{job}.service"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
