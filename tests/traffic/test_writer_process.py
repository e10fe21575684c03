"""The node's writer process (a gunicorn dirty worker, apps/traffic/writer_process.py): it
writes the batches the workers prepare, refuses anything else, and a worker that cannot hand a
batch over writes it itself and says so once. Under a real gunicorn:
tests/traffic/test_served_traffic.py and tests/gateway/test_stopping_process.py."""

from __future__ import annotations

import logging
import pickle

import pytest
from gunicorn.dirty import close_dirty_client

from apps.traffic import writer_process
from apps.traffic.models import AccessLogEntry, ClientCertificate
from apps.traffic.recorder import recorder
from apps.traffic.writer import Prepared, prepare
from apps.traffic.writer_process import NOT_WRITTEN, TrafficWriter, hand_over
from tests.factories.forwarded import escaped, fetch

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(client, guarded, pki):
    """Two decisions as the recorder queued them: an allowed certificate and a refusal."""
    assert fetch(client, cert=escaped(pki.leaf)).status_code == 200
    assert fetch(client).status_code == 403
    return recorder.take()


@pytest.fixture
def no_writer_at(tmp_path, monkeypatch):
    """gunicorn's dirty socket named, but no process listening on it."""
    monkeypatch.setenv("GUNICORN_DIRTY_SOCKET", str(tmp_path / "arbiter.sock"))
    close_dirty_client()
    yield
    close_dirty_client()
    writer_process.handover.failing_since = None


def test_the_writer_writes_a_prepared_batch_as_the_worker_would(batch, pki) -> None:
    assert TrafficWriter().write(pickle.dumps(prepare(batch))) == 2
    assert sorted(AccessLogEntry.objects.values_list("decision", flat=True)) == ["allow", "deny"]
    assert ClientCertificate.objects.get().fingerprint_sha256 == pki.leaf.fingerprint


def test_a_batch_the_database_refuses_is_answered_as_not_written(batch) -> None:
    prepared = prepare(batch)
    broken = Prepared([(row[0], None, *row[2:]) for row in prepared.rows], prepared.leaves)
    assert TrafficWriter().write(pickle.dumps(broken)) == NOT_WRITTEN  # hostname NOT NULL
    assert not AccessLogEntry.objects.exists()  # nothing of it kept


def test_the_writer_refuses_anything_but_a_prepared_batch() -> None:
    with pytest.raises(TypeError, match="not a prepared batch"):
        TrafficWriter().write(pickle.dumps({"rows": []}))
    assert not AccessLogEntry.objects.exists()


def test_outside_gunicorn_the_worker_writes_its_batches_itself(batch) -> None:
    hand_over(batch)
    assert AccessLogEntry.objects.count() == 2


def test_a_writer_that_does_not_answer_costs_no_row_and_one_line(
    batch, no_writer_at, caplog
) -> None:
    with caplog.at_level(logging.WARNING, logger=writer_process.__name__):
        hand_over(batch[:1])
        hand_over(batch[1:])
    assert AccessLogEntry.objects.count() == 2
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1
    assert "did not take a batch" in said[0] and "writes its batches itself" in said[0]


def test_the_line_that_it_answers_again_comes_once_it_does(caplog) -> None:
    writer_process.handover.failed(ConnectionRefusedError("no socket"))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=writer_process.__name__):
        writer_process.handover.sent()
        writer_process.handover.sent()
    assert [r.getMessage().split(" after ")[0] for r in caplog.records] == [
        "the traffic writer process answers again"
    ]
