"""The per-worker recorder of rulings: bounded memory on the request path, bulk writes off it.

:meth:`Recorder.record` is the gateway's sink (``apps.gateway.sinks``). It runs on the request
path, so it only appends one tuple to an in-memory queue: no query, no parsing, no lock. When
the queue holds :data:`MAX_PENDING` records the next ones are dropped and counted
(``dropped``, and the ``accessctl_recorder_dropped_total`` metric) rather than letting a slow
database grow the worker's memory.

A background thread per worker (started by the first record in that process, so a fork gets
its own) takes everything queued every ``ACCESSCTL_TRAFFIC_FLUSH_SECONDS`` seconds, or sooner
once :data:`FLUSH_AT` records wait, and hands the batch to ``apps.traffic.writer``: one bulk
insert into the access log, and the inventory aggregated per fingerprint before it is written.
With ``ACCESSCTL_TRAFFIC_FLUSH_SECONDS=0`` no thread runs and only :meth:`Recorder.flush`
writes (the tests do so). A worker that stops writes what it still holds first
(:meth:`Recorder.drain`, run by ``apps.base.draining``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable

from django.db import DatabaseError, close_old_connections

from accessctl.core.request import IncomingRequest, Ruling, Verdict
from apps.base.backends import Backend, backends, problem_line, server_answered
from apps.base.conf import access_settings
from apps.gateway.logging import client_ip
from apps.traffic import metrics
from apps.traffic.seen import Seen
from apps.traffic.writer import write_batch

logger = logging.getLogger(__name__)

MAX_PENDING = 20_000  # records a worker holds before it drops new ones
FLUSH_AT = 1_000  # records that wake the writer before its interval is up
_NOT_RECORDED = frozenset({Verdict.DASHBOARD, Verdict.UNGUARDED})


Writer = Callable[[list[Seen]], None]
Observer = Callable[[list[Seen], "Recorder"], None]


class Recorder:
    """A bounded queue of :class:`Seen` records and the thread that writes them."""

    def __init__(
        self,
        *,
        max_pending: int = MAX_PENDING,
        flush_at: int = FLUSH_AT,
        write: Writer = write_batch,
        observe: Observer = metrics.observe,
    ) -> None:
        self.max_pending = max_pending
        self.flush_at = flush_at
        self._write = write
        self._observe = observe
        self._pending: deque[Seen] = deque()
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread_pid: int | None = None
        self.dropped = 0  # records not kept because the queue was full
        self.failed = 0  # records lost because writing them failed

    def __len__(self) -> int:
        return len(self._pending)

    def record(self, req: IncomingRequest, ruling: Ruling, elapsed: float) -> None:
        """Queue the ruling (the gateway's sink; on the request path: append only)."""
        if ruling.verdict in _NOT_RECORDED:
            return
        pending = self._pending
        if len(pending) >= self.max_pending:
            self.dropped += 1
            return
        pending.append(
            Seen(
                time.time(),
                ruling.hostname or req.host[:253],
                req.path[:1024],
                req.method[:16],
                client_ip(req),
                ruling,
                elapsed,
            )
        )
        if self._thread_pid != os.getpid():
            self._start()
        elif len(pending) >= self.flush_at:
            self._wake.set()

    def take(self) -> list[Seen]:
        """Everything queued, oldest first (the queue is left empty)."""
        pending, batch = self._pending, []
        while True:
            try:
                batch.append(pending.popleft())  # thread-safe against concurrent appends
            except IndexError:
                return batch

    def flush(self) -> int:
        """Count everything queued in the metrics and write it now; the number of records
        written (0 on failure: the records are counted in ``failed`` and dropped)."""
        with self._flush_lock:
            batch = self.take()
            try:
                self._observe(batch, self)
            except Exception:  # metrics are never worth losing the access log for
                logger.exception("could not count %d access records in the metrics", len(batch))
            if not batch:
                return 0
            try:
                self._write(batch)
            except DatabaseError as exc:
                # Counted in ``failed``. An outage is one line when it starts and one when it
                # ends (apps.base.backends), not a traceback per flush; an error the server
                # answered with (a deadlock between workers) is one line of its own.
                self.failed += len(batch)
                if server_answered(exc):
                    logger.warning(
                        "could not write %d access records (%s); dropped",
                        len(batch),
                        problem_line(exc),
                    )
                else:
                    backends.failed(Backend.DATABASE, exc)
                return 0
            except Exception:
                self.failed += len(batch)
                logger.exception("could not write %d access records; dropped", len(batch))
                return 0
            backends.answered(Backend.DATABASE)
            return len(batch)

    def drain(self, timeout: float) -> bool:
        """Write everything queued, as the process stops (``apps.base.draining``): True when
        it was written, False when writing failed or a flush under way outlasted ``timeout``."""
        if not self._flush_lock.acquire(timeout=timeout):
            return False
        self._flush_lock.release()
        failed = self.failed
        self.flush()
        return self.failed == failed

    def discard(self) -> None:
        """Forget everything queued and the counts (tests)."""
        self.take()
        self.dropped = self.failed = 0

    def _start(self) -> None:
        # First record in this process (gunicorn forks workers after import): start its writer.
        with self._flush_lock:
            if self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()
            interval = access_settings().traffic_flush_seconds
            if interval <= 0:
                return
            thread = threading.Thread(
                target=self._run, args=(interval,), name="accessctl-recorder", daemon=True
            )
            thread.start()

    def _run(self, interval: float) -> None:
        while True:
            self._wake.wait(interval)
            self._wake.clear()
            try:
                close_old_connections()  # this thread's connection obeys CONN_MAX_AGE too
                self.flush()
            except Exception:  # the thread must outlive a bad moment of the database
                logger.exception("the traffic recorder could not flush")


recorder = Recorder()
