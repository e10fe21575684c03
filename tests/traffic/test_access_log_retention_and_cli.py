"""`accessctl accesslog prune` keeps the retention period (default 30 days); `accessctl
accesslog export` writes CSV or JSON with the dashboard's filters; bad input is one line."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.utils import timezone

from apps.traffic.models import AccessLogEntry
from apps.traffic.services import access_log_prune
from tests.factories.commands import refusal, run_command
from tests.factories.traffic import log_entry

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def _ages() -> list[int]:
    now = timezone.now()
    return sorted((now - e.time).days for e in AccessLogEntry.objects.all())


def test_prune_deletes_what_is_older_than_the_30_day_default_and_keeps_the_rest():
    for days in (0, 29, 31, 400):
        log_entry(age=days * DAY + dt.timedelta(minutes=1))
    assert "Deleted 2 access log entries older than 30 days." in run_command("accesslog", "prune")
    assert _ages() == [0, 29]


def test_the_retention_setting_and_days_option_choose_what_is_kept(settings):
    for days in (1, 5, 10):
        log_entry(age=days * DAY + dt.timedelta(minutes=1))
    settings.ACCESSCTL_ACCESS_LOG_RETENTION_DAYS = 7
    run_command("accesslog", "prune")
    assert _ages() == [1, 5]
    run_command("accesslog", "prune", "--days", "2")
    assert _ages() == [1]


def test_pruning_a_large_backlog_goes_in_chunks_and_misses_nothing(monkeypatch):
    monkeypatch.setattr("apps.traffic.services._PRUNE_CHUNK", 3)
    AccessLogEntry.objects.bulk_create(
        [
            AccessLogEntry(time=timezone.now() - 40 * DAY, hostname="a", path="/", decision="deny")
            for _ in range(10)
        ]
    )
    assert access_log_prune(now=timezone.now()) == 10
    assert not AccessLogEntry.objects.exists()


def test_export_writes_json_or_csv_filtered_like_the_dashboard(tmp_path):
    log_entry(hostname="a.example.com", decision="allow", reason="policy_allow")
    log_entry(hostname="b.example.com", age=3 * DAY)
    entries = json.loads(run_command("accesslog", "export", "--format", "json"))
    assert [e["hostname"] for e in entries] == ["b.example.com", "a.example.com"]  # oldest first
    since = (timezone.now() - DAY).isoformat()
    recent = json.loads(run_command("accesslog", "export", "--format", "json", "--since", since))
    assert [e["hostname"] for e in recent] == ["a.example.com"]
    rows = list(
        csv.DictReader(io.StringIO(run_command("accesslog", "export", "--decision", "deny")))
    )
    assert [r["hostname"] for r in rows] == ["b.example.com"]
    target = tmp_path / "log.csv"
    run_command("accesslog", "export", "--hostname", "A.example.com", "-o", str(target))
    assert [r["reason"] for r in csv.DictReader(target.open())] == ["policy_allow"]


def test_bad_input_is_one_line_and_exit_code_2(tmp_path):
    assert "--days must be at least 1" in refusal("accesslog", "prune", "--days", "0")
    assert "not a date or time" in refusal("accesslog", "export", "--since", "yesterday")
    missing = tmp_path / "no-such-dir" / "out.csv"
    assert "--output" in refusal("accesslog", "export", "-o", str(missing))
