"""The node's traffic writer: one process per node that writes the batches its gunicorn
workers record, so that a worker's recorder thread only prepares a batch and hands it over.

It is a gunicorn *dirty worker* (gunicorn's own pool of separate processes, started,
restarted when it dies and stopped by gunicorn's master; ``dirty_apps`` in
accessctl/gunicorn.conf.py). Under a sync worker the recorder's thread shares the GIL with
the requests: writing the rows there took a few percent of the cheapest refusal's throughput
(scenario 12 of bench/guard_cost.py, docs/performance.md). Here the worker's thread prepares
the rows (:func:`apps.traffic.writer.prepare`), pickles them and waits, without the GIL, while
this process writes them.

The batches come over gunicorn's dirty socket, a Unix socket in a directory of the server's
own (mode 0700): only a process of the same user can send one, which is why they may be
pickles. Nothing is lost when this process is missing or fails: :func:`hand_over` then writes
the batch in the worker, as it always did outside gunicorn (``runserver``, the tests, with
``ACCESSCTL_TRAFFIC_WRITER=thread``), and says so once in the log.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Sequence
from typing import Any

from gunicorn.dirty import DirtyApp

from apps.traffic.seen import Seen

logger = logging.getLogger(__name__)

APP = "apps.traffic.writer_process:TrafficWriter"
TIMEOUT = 30.0  # seconds a batch may take to be written before the worker writes it itself
NOT_WRITTEN = -1  # the writer's answer when the database refused the batch or did not answer


class TrafficWriter(DirtyApp):
    """The dirty app: ``write`` one pickled :class:`apps.traffic.writer.Prepared` batch."""

    workers = 1  # type: ignore[assignment]  # one writer per node (gunicorn types it None)

    def init(self) -> None:
        # A dirty worker is forked from gunicorn's master, which never loads the application.
        import django

        django.setup()

    def __call__(self, action: str, *args: Any, **kwargs: Any) -> Any:
        from django.db import close_old_connections

        close_old_connections()  # a long-lived process: CONN_MAX_AGE and broken connections
        return super().__call__(action, *args, **kwargs)  # type: ignore[no-untyped-call]

    def write(self, blob: bytes) -> int:
        """Write one batch: the number of access log rows written, or :data:`NOT_WRITTEN` when
        the database refused it or did not answer. The worker then writes the batch itself,
        and reports an outage as it always has (one line when it starts, one when it ends):
        this process logs nothing of its own for it."""
        from django.db import DatabaseError

        from apps.traffic.writer import Prepared, write_prepared

        prepared = pickle.loads(blob)  # noqa: S301 - from a worker of this server (module doc)
        if not isinstance(prepared, Prepared):
            raise TypeError(f"not a prepared batch: {type(prepared).__name__}")
        try:
            write_prepared(prepared)
        except DatabaseError:
            return NOT_WRITTEN
        return len(prepared.rows)

    def close(self) -> None:
        from django.db import connections

        connections.close_all()


class _Handover:
    """Whether the writer process answers, so that losing it is one line, not one per batch."""

    def __init__(self) -> None:
        self.failing_since: float | None = None

    def sent(self) -> None:
        if self.failing_since is not None:
            logger.warning(
                "the traffic writer process answers again after %.0f s",
                time.monotonic() - self.failing_since,
            )
            self.failing_since = None

    def failed(self, exc: Exception) -> None:
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            logger.warning(
                "the traffic writer process did not take a batch (%s); this worker writes its "
                "batches itself until it answers",
                exc,
            )


handover = _Handover()


def hand_over(batch: Sequence[Seen]) -> None:
    """The recorder's writer: prepare ``batch`` here and have the node's writer process write
    it; write it here when there is none or it fails."""
    from apps.traffic.writer import prepare, write_prepared

    prepared = prepare(batch)
    client = _client()
    if client is not None:
        try:
            written = client.execute(APP, "write", pickle.dumps(prepared, pickle.HIGHEST_PROTOCOL))
        except Exception as exc:  # any failure of the other process: this one writes
            handover.failed(exc)
        else:
            handover.sent()
            if written != NOT_WRITTEN:
                return
    # Here: no writer process, or it could not write (this worker's own attempt then raises
    # the database's error for the recorder to count and report).
    write_prepared(prepared)


def _client() -> Any:
    """gunicorn's dirty client of this thread, or None where no dirty worker runs."""
    from gunicorn.dirty import get_dirty_client
    from gunicorn.dirty.errors import DirtyError

    try:
        return get_dirty_client(timeout=TIMEOUT)
    except DirtyError:  # no dirty socket: not under the shipped gunicorn configuration
        return None
