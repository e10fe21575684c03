"""A stream handler that writes its lines in batches, by time: no write and flush per record.

Every access decision is a log line (``apps.gateway.logging``); written and flushed one by
one, each costs the request a system call. :class:`BufferedStreamHandler` keeps the formatted
lines in memory and writes them at once, in the order they were logged:

- at the latest ``flush_interval`` seconds after the first line waiting (a background thread
  per process writes what an idle worker left), or as soon as ``capacity`` lines wait;
- at once for a record of ``flush_level`` or above (an error is never held back);
- when the handler is flushed or closed: :func:`logging.shutdown`, which runs at every clean
  exit of the interpreter (a gunicorn worker's too; ``accessctl/gunicorn.conf.py`` also
  flushes in its ``worker_exit`` hook). A line is never lost on a clean shutdown; what waits
  when a process is killed (SIGKILL, ``os._exit``) is at most ``flush_interval`` of lines.

Every handler of one stream shares one buffer, so that the lines of different loggers on the
same stream (the access log and the console's warnings on stderr) keep their order too. A
forked child starts with an empty buffer: the lines its parent had not yet written are the
parent's to write. ``flush_interval=0`` writes every line at once, like
:class:`logging.StreamHandler`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import IO, Any

DEFAULT_FLUSH_INTERVAL = 0.2  # seconds a line may wait
DEFAULT_CAPACITY = 512  # lines that are written without waiting for the interval


class _Buffer:
    """The lines waiting for one stream, and the thread that writes them on time."""

    def __init__(self, stream: IO[str], interval: float, capacity: int) -> None:
        self.stream = stream
        self.interval = interval
        self.capacity = capacity
        self.lines: list[str] = []
        self.first_at = 0.0  # monotonic time of the oldest waiting line
        self.lock = threading.Lock()
        self._thread_pid: int | None = None

    def add(self, line: str, *, now: float, urgent: bool) -> None:
        with self.lock:
            lines = self.lines
            if not lines:
                self.first_at = now
                if self._thread_pid != os.getpid():
                    self._start()
            lines.append(line)
            if urgent or len(lines) >= self.capacity or now - self.first_at >= self.interval:
                self._write()

    def flush(self) -> None:
        with self.lock:
            self._write()
            if hasattr(self.stream, "flush"):
                self.stream.flush()

    def forget(self) -> None:
        """After a fork, in the child: the waiting lines are the parent's."""
        self.lines = []
        self.lock = threading.Lock()
        self._thread_pid = None

    def _write(self) -> None:  # with self.lock held
        if self.lines:
            text = "".join(self.lines)
            self.lines = []
            self.stream.write(text)
            if hasattr(self.stream, "flush"):
                self.stream.flush()

    def _start(self) -> None:  # with self.lock held
        self._thread_pid = os.getpid()
        thread = threading.Thread(target=self._run, name="accessctl-log-flush", daemon=True)
        thread.start()

    def _run(self) -> None:
        # Twice per interval: a line waits at most about one interval.
        half = self.interval / 2
        while True:
            time.sleep(half)
            # A stream closed under us: nothing left to write, and the thread must not die noisily.
            with contextlib.suppress(OSError, ValueError), self.lock:
                if self.lines and time.monotonic() - self.first_at >= half:
                    self._write()


# One buffer per stream, for the life of the process (keyed by the stream's id, which the
# buffer keeps alive).
_buffers: dict[int, _Buffer] = {}
_registry_lock = threading.Lock()


def _forget_after_fork() -> None:
    for buffer in list(_buffers.values()):
        buffer.forget()


os.register_at_fork(after_in_child=_forget_after_fork)


class BufferedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """:class:`logging.StreamHandler`, writing its lines in time-flushed batches (module doc)."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        capacity: int = DEFAULT_CAPACITY,
        flush_level: int | str = logging.ERROR,
    ) -> None:
        super().__init__(stream)
        self.flush_interval = flush_interval
        self.flush_level = logging._checkLevel(flush_level)  # type: ignore[attr-defined]
        self._buffer: _Buffer | None = None
        if flush_interval > 0:
            with _registry_lock:
                buffer = _buffers.get(id(self.stream))
                if buffer is None or buffer.stream is not self.stream:
                    buffer = _Buffer(self.stream, flush_interval, max(1, capacity))
                    _buffers[id(self.stream)] = buffer
                self._buffer = buffer

    def emit(self, record: logging.LogRecord) -> None:
        buffer = self._buffer
        if buffer is None:
            super().emit(record)
            return
        try:
            line = self.format(record) + self.terminator
            buffer.add(line, now=time.monotonic(), urgent=record.levelno >= self.flush_level)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def write_message(self, message: str, levelno: int) -> bool:
        """Write the line a record of ``message`` at ``levelno`` would make, without making the
        record, when that line is the message itself: a buffer, no filter, the formatter
        ``%(message)s`` (the access log's, in the shipped settings), and this class's own
        handling (a subclass may redact or add to a record: it gets records). False otherwise,
        with nothing written: the caller then logs a record as usual.

        The access log writes one line per request; a LogRecord, its handling and its
        formatting cost that request about as much as building the line itself. A stream that
        fails is reported as :meth:`emit` reports it (``handleError``), never raised into the
        request."""
        buffer = self._buffer
        formatter = self.formatter
        cls = type(self)
        if (
            buffer is None
            or self.filters
            or levelno < self.level
            or type(formatter) is not logging.Formatter
            or type(formatter._style) is not logging.PercentStyle
            or formatter._fmt != "%(message)s"
            or cls.emit is not BufferedStreamHandler.emit
            or cls.handle is not logging.Handler.handle
            or cls.format is not logging.Handler.format
        ):
            return False
        try:
            buffer.add(
                message + self.terminator, now=time.monotonic(), urgent=levelno >= self.flush_level
            )
        except RecursionError:
            raise
        except Exception:
            # Taken, even though the stream failed: the record path would only fail again.
            record = logging.makeLogRecord(
                {"msg": message, "levelno": levelno, "levelname": logging.getLevelName(levelno)}
            )
            self.handleError(record)
        return True

    def flush(self) -> None:
        if self._buffer is not None:
            self._buffer.flush()
        else:
            super().flush()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            super().close()

    def setStream(self, stream: Any) -> Any:  # noqa: N802 - logging's name
        """Write what waits to the old stream first; a new stream is written through."""
        self.flush()
        self._buffer = None
        return super().setStream(stream)


def flush_all() -> None:
    """Write every buffered line now (gunicorn's ``worker_exit`` hook; tests)."""
    for buffer in list(_buffers.values()):
        try:
            buffer.flush()
        except (OSError, ValueError):  # a stream closed under us: nothing left to save
            continue
