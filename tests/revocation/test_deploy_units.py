"""The shipped systemd units run the CRL refresh every hour."""

from __future__ import annotations

import configparser
import datetime as dt
import shlex
from pathlib import Path

import pytest

from apps.revocation.models import CertificateRevocationList
from apps.revocation.services import crl_store
from tests.factories import certs as f
from tests.factories.commands import run_command

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name)
    return parser


def test_the_timer_runs_the_refresh_service_hourly():
    timer = unit("accessctl-crl-refresh.timer")
    assert timer["Timer"]["OnCalendar"] == "hourly"
    assert timer["Timer"]["Unit"] == "accessctl-crl-refresh.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.django_db
def test_the_service_runs_a_command_that_refreshes_due_crls(uploaded, chain, server):
    service = unit("accessctl-crl-refresh.service")["Service"]
    assert service["Type"] == "oneshot"
    argv = shlex.split(service["ExecStart"])
    assert Path(argv[0]).name == "accessctl"
    _, inter = chain
    server.files["/d.crl"] = f.make_crl(inter, this_update=f.now() - dt.timedelta(days=6)).der
    crl_store(bundle=uploaded, data=server.files["/d.crl"], user=None, url=server.url("/d.crl"))
    server.files["/d.crl"] = f.make_crl(inter, (1,), crl_number=2).der
    assert "refreshed" in run_command(*argv[1:])
    assert CertificateRevocationList.objects.get().revoked_count == 1
