"""``ACCESSCTL_TRAFFIC_WRITER`` in the shipped gunicorn configuration: one writer process per
node by default (a gunicorn dirty worker), each worker's own thread with ``thread``, and a
clear refusal of anything else before gunicorn starts."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from apps.traffic.writer_process import APP

CONF = str(Path(__file__).parents[2] / "accessctl" / "gunicorn.conf.py")


@pytest.mark.parametrize("value", [None, "process", " process "])
def test_by_default_one_writer_process_runs_per_node(monkeypatch, value) -> None:
    if value is None:
        monkeypatch.delenv("ACCESSCTL_TRAFFIC_WRITER", raising=False)
    else:
        monkeypatch.setenv("ACCESSCTL_TRAFFIC_WRITER", value)
    conf = runpy.run_path(CONF)
    assert conf["dirty_workers"] == 1
    assert conf["dirty_apps"] == [APP]


def test_thread_writes_from_each_worker_and_starts_no_process(monkeypatch) -> None:
    monkeypatch.setenv("ACCESSCTL_TRAFFIC_WRITER", "thread")
    conf = runpy.run_path(CONF)
    assert "dirty_workers" not in conf and "dirty_apps" not in conf


def test_anything_else_stops_gunicorn_saying_what_to_write(monkeypatch, capsys) -> None:
    monkeypatch.setenv("ACCESSCTL_TRAFFIC_WRITER", "threads")
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(CONF)
    assert stopped.value.code == 2
    assert "ACCESSCTL_TRAFFIC_WRITER='threads': use 'process'" in capsys.readouterr().err
