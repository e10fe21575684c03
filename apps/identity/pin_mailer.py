"""The per-process sender of one-time PIN mails: off the request path, so that the page
answers as fast whether or not a code is mailed (the time must not tell who may sign in).

:meth:`PinMailer.send` only puts the mail in a bounded queue; when the queue holds
:data:`MAX_PENDING` mails the next ones are dropped (logged at ERROR). A daemon thread per
process (started by the first mail in that process, so that a forked gunicorn worker gets its
own, as ``apps.traffic.recorder`` does) renders each mail and hands it to Django's email
backend (``EMAIL_URL``); a mail the server refuses is logged at ERROR, and only there: the
page said the same either way. :meth:`PinMailer.flush` waits until everything queued was
handed over (the tests do so before reading a mailbox, and after every test; a worker that
stops does so too, through ``apps.base.draining``).
"""

from __future__ import annotations

import logging
import os
import queue
import smtplib
import threading
import time
from dataclasses import dataclass

from django.core.mail import BadHeaderError, EmailMessage
from django.template.loader import render_to_string

from apps.identity.pins import CODE_SECONDS

logger = logging.getLogger(__name__)

MAX_PENDING = 1_000  # mails a process holds before it drops new ones


@dataclass(frozen=True, slots=True)
class PinMail:
    """One code to mail: what the mail's template needs."""

    to: str
    code: str
    application: str
    hostname: str


def pin_mail_send(mail: PinMail) -> bool:
    """Mail the code through Django's email backend now; False (logged at ERROR) when the
    mail could not be handed over."""
    context = {
        "code": mail.code,
        "application": mail.application,
        "hostname": mail.hostname,
        "minutes": CODE_SECONDS // 60,
    }
    message = EmailMessage(
        subject=f"{mail.code} is your sign-in code for {mail.application}",
        body=render_to_string("identity/pin_mail.txt", context),
        to=[mail.to],
    )
    try:
        message.send()
    except (OSError, smtplib.SMTPException, BadHeaderError) as exc:
        logger.error("one-time PIN mail to %s not sent: %s", mail.to, exc)
        return False
    return True


class PinMailer:
    """A bounded queue of :class:`PinMail` and the thread that sends them."""

    def __init__(self, *, max_pending: int = MAX_PENDING) -> None:
        self._queue: queue.Queue[PinMail] = queue.Queue(maxsize=max_pending)
        self._start_lock = threading.Lock()
        self._thread_pid: int | None = None
        self.dropped = 0  # mails not sent because the queue was full

    def send(self, mail: PinMail) -> None:
        """Queue the mail (on the request path: no rendering, no network)."""
        try:
            self._queue.put_nowait(mail)
        except queue.Full:
            self.dropped += 1
            logger.error("one-time PIN mail to %s dropped: %d mails wait", mail.to, self.pending)
            return
        if self._thread_pid != os.getpid():
            self._start()

    @property
    def pending(self) -> int:
        """Mails queued or being sent."""
        return self._queue.unfinished_tasks

    def flush(self, timeout: float = 30) -> bool:
        """Wait until every queued mail was handed over (or failed); False on timeout."""
        deadline = time.monotonic() + timeout
        done = self._queue.all_tasks_done
        with done:
            while self._queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                done.wait(left)
        return True

    def _start(self) -> None:
        # First mail in this process (gunicorn forks workers after import): start its sender.
        with self._start_lock:
            if self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()
            thread = threading.Thread(target=self._run, name="accessctl-pin-mailer", daemon=True)
            thread.start()

    def _run(self) -> None:
        while True:
            mail = self._queue.get()
            try:
                pin_mail_send(mail)
            except Exception:  # the thread must outlive a bad mail (a broken template)
                logger.exception("one-time PIN mail to %s not sent", mail.to)
            finally:
                self._queue.task_done()


pin_mailer = PinMailer()
