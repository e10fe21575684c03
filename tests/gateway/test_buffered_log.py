"""The log lines on stderr are written in batches by time, never lost on a clean exit and
never out of order (apps/base/log_handlers.py): the access log's write and flush are not paid
per request."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from accessctl.core.reasons import Reason
from accessctl.core.request import IncomingRequest, Ruling, Verdict
from apps.base.log_handlers import BufferedStreamHandler, flush_all
from apps.gateway.logging import access_logger, log_ruling
from tests.factories import certs
from tests.factories.hosts import HOST
from tests.factories.served import Served, served_accessctl
from tests.test_settings import django_env

ROOT = Path(__file__).resolve().parents[2]
FOREVER = 3600.0  # an interval no test waits for: only capacity, errors and flushes write


def _logger(name: str, *handlers: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"tests.buffered.{name}")
    logger.handlers = list(handlers)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def _eventually(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def test_lines_wait_in_memory_and_are_written_in_order_when_flushed():
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, flush_interval=FOREVER)
    logger = _logger("order", handler)
    for word in ("one", "two", "three"):
        logger.info(word)
    assert stream.getvalue() == ""
    handler.flush()
    assert stream.getvalue() == "one\ntwo\nthree\n"


def test_a_waiting_line_is_written_within_the_interval_without_more_logging():
    stream = io.StringIO()
    logger = _logger("timed", BufferedStreamHandler(stream, flush_interval=0.05))
    logger.info("alone")
    _eventually(lambda: stream.getvalue() == "alone\n", "the line written by the interval")


def test_a_full_buffer_is_written_at_once():
    stream = io.StringIO()
    logger = _logger("full", BufferedStreamHandler(stream, flush_interval=FOREVER, capacity=3))
    logger.info("a")
    logger.info("b")
    assert stream.getvalue() == ""
    logger.info("c")
    assert stream.getvalue() == "a\nb\nc\n"


def test_an_error_is_written_at_once_after_the_lines_logged_before_it():
    stream = io.StringIO()
    logger = _logger("error", BufferedStreamHandler(stream, flush_interval=FOREVER))
    logger.warning("refused")
    logger.error("broken")
    assert stream.getvalue() == "refused\nbroken\n"


def test_the_handlers_of_one_stream_keep_the_order_of_their_lines_together():
    stream = io.StringIO()
    plain = BufferedStreamHandler(stream, flush_interval=FOREVER)
    plain.setFormatter(logging.Formatter("plain %(message)s"))
    access = _logger("shared-access", BufferedStreamHandler(stream, flush_interval=FOREVER))
    console = _logger("shared-console", plain)
    access.info("1")
    console.warning("2")
    access.info("3")
    flush_all()
    assert stream.getvalue() == "1\nplain 2\n3\n"


def test_no_interval_writes_every_line_at_once():
    stream = io.StringIO()
    _logger("through", BufferedStreamHandler(stream, flush_interval=0)).info("now")
    assert stream.getvalue() == "now\n"


def test_a_handler_whose_line_is_the_message_takes_it_without_a_record():
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, flush_interval=FOREVER)
    handler.setFormatter(logging.Formatter("%(message)s"))
    assert handler.write_message('{"a": 1}', logging.INFO)
    handler.flush()
    assert stream.getvalue() == '{"a": 1}\n'


def test_a_handler_that_would_change_the_line_says_so_and_writes_nothing():
    stream = io.StringIO()
    prefixed = BufferedStreamHandler(stream, flush_interval=FOREVER)
    prefixed.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    filtered = BufferedStreamHandler(stream, flush_interval=FOREVER)
    filtered.setFormatter(logging.Formatter("%(message)s"))
    filtered.addFilter(lambda record: False)
    unbuffered = BufferedStreamHandler(stream, flush_interval=0)
    unbuffered.setFormatter(logging.Formatter("%(message)s"))
    quiet = BufferedStreamHandler(stream, flush_interval=FOREVER)
    quiet.setFormatter(logging.Formatter("%(message)s"))
    quiet.setLevel(logging.ERROR)
    for handler in (prefixed, filtered, unbuffered, quiet):
        assert not handler.write_message("line", logging.INFO)
        handler.flush()
    assert stream.getvalue() == ""


def test_a_subclass_of_the_handler_gets_records():
    class Redacting(BufferedStreamHandler):
        def emit(self, record: logging.LogRecord) -> None:
            record.msg = "redacted"
            super().emit(record)

    stream = io.StringIO()
    handler = Redacting(stream, flush_interval=FOREVER)
    handler.setFormatter(logging.Formatter("%(message)s"))
    assert not handler.write_message("secret", logging.INFO)


def test_a_failing_stream_is_reported_and_never_raised_into_the_request(capsys):
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError("the terminal went away")

    handler = BufferedStreamHandler(Broken(), flush_interval=FOREVER)
    handler.setFormatter(logging.Formatter("%(message)s"))
    # An error-level line is written at once: the stream's failure happens right here.
    assert handler.write_message("an urgent line", logging.ERROR)
    assert "Logging error" in capsys.readouterr().err


def _ruled() -> tuple[IncomingRequest, Ruling]:
    req = IncomingRequest("127.0.0.1", HOST, "/x", {}, method="GET")
    return req, Ruling(Verdict.DENY, Reason.CERTIFICATE_REQUIRED, "req-00000001", HOST)


def test_the_shipped_access_log_handler_gets_its_line_without_a_record(monkeypatch):
    def no_record(*args, **kwargs):
        raise AssertionError("a LogRecord was made for the access line")

    stream = io.StringIO()
    buffered = BufferedStreamHandler(stream, flush_interval=FOREVER)
    buffered.setFormatter(logging.Formatter("%(message)s"))
    monkeypatch.setattr(access_logger, "handlers", [buffered])
    monkeypatch.setattr(access_logger, "makeRecord", no_record)
    log_ruling(*_ruled())
    buffered.flush()
    assert json.loads(stream.getvalue())["reason"] == "certificate_required"


def test_the_access_line_is_the_same_with_a_record_or_without(monkeypatch):
    req, ruling = _ruled()
    direct, recorded = io.StringIO(), io.StringIO()
    buffered = BufferedStreamHandler(direct, flush_interval=FOREVER)
    buffered.setFormatter(logging.Formatter("%(message)s"))
    monkeypatch.setattr(access_logger, "handlers", [buffered])
    log_ruling(req, ruling)
    buffered.flush()
    # A second handler: every line goes through a record again (what the handler gets).
    plain = logging.StreamHandler(recorded)
    monkeypatch.setattr(access_logger, "handlers", [buffered, plain])
    log_ruling(req, ruling)
    buffered.flush()
    lines = direct.getvalue().splitlines()
    assert len(lines) == 2
    fast, slow, other = (json.loads(line) for line in (lines[0], lines[1], recorded.getvalue()))
    for line in (fast, slow, other):
        del line["time"]
    assert fast == slow == other
    assert fast["reason"] == "certificate_required"


def test_a_forked_child_leaves_its_parents_waiting_lines_to_the_parent(tmp_path):
    path = tmp_path / "forked.log"
    with path.open("w") as stream:
        handler = BufferedStreamHandler(stream, flush_interval=FOREVER)
        logger = _logger("fork", handler)
        logger.info("parent before the fork")
        pid = os.fork()
        if pid == 0:  # the child: its own line only, then out without any cleanup
            try:
                logger.info("child")
                handler.flush()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        logger.info("parent after the fork")
        handler.flush()
    lines = path.read_text().splitlines()
    assert sorted(lines) == ["child", "parent after the fork", "parent before the fork"]
    assert lines.index("parent before the fork") < lines.index("parent after the fork")


_LOG_AND_EXIT = """
import django, logging
django.setup()
access = logging.getLogger("accessctl.access")
for i in range(300):
    access.info('{"n": %d}' % i)
logging.getLogger("accessctl.test").warning("last")
"""


def test_a_clean_exit_writes_every_waiting_line_in_order(tmp_path):
    env = django_env(
        tmp_path, ACCESSCTL_ENV="development", ACCESSCTL_LOG_FLUSH_SECONDS=str(FOREVER)
    )
    done = subprocess.run(
        [sys.executable, "-c", _LOG_AND_EXIT],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert [json.loads(line)["n"] for line in lines[:-1]] == list(range(300))
    assert lines[-1].endswith("accessctl.test last")


def _guarded(pki):
    def configure(served: Served) -> None:
        bundle = served.tmp / "ca.pem"
        bundle.write_text(certs.pem_bundle(pki.root, pki.inter))
        served.accessctl("certificates", "add", "--name", "Fleet", "--hostname", HOST, str(bundle))
        served.accessctl("policies", "add", "--hostname", HOST, "--decision", "non_identity",
                         "--include", "valid_certificate")  # fmt: skip

    return configure


def test_a_stopped_gunicorn_worker_has_written_every_access_line_in_order(tmp_path, pki):
    sent = [f"bench-order-{i:04d}" for i in range(40)]
    with served_accessctl(
        tmp_path,
        [HOST],
        configure=_guarded(pki),
        ACCESSCTL_WORKERS="1",
        ACCESSCTL_LOG_FLUSH_SECONDS=str(FOREVER),
    ) as served:
        for i, request_id in enumerate(sent):
            cert = pki.leaf if i % 2 else None
            assert served.get(HOST, "/", cert=cert, X_Request_Id=request_id)[0] in (200, 403)
    logged = [
        json.loads(line)
        for line in (tmp_path / "gunicorn.log").read_text().splitlines()
        if line.startswith("{")
    ]
    assert [line["request_id"] for line in logged] == sent
    assert [line["decision"] for line in logged] == ["deny", "allow"] * 20
