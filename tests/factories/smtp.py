"""A real SMTP server on loopback (aiosmtpd), and Django's SMTP backend pointed at it: the
messages ``accessctl notify`` and the one-time PIN pages delivered, as the server received
them. :func:`smtp_server` alone serves a stack started in other processes (tests/e2e)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from apps.console.servers import free_port


class Mailbox:
    """What the server received (aiosmtpd's handler interface)."""

    def __init__(self, *, held: bool = False) -> None:
        self.messages: list[EmailMessage] = []
        self.receiving = threading.Event()  # set once a message's data came in
        self._released = threading.Event()  # a held mailbox answers only once released
        if not held:
            self._released.set()

    def release(self) -> None:
        """Let a held mailbox answer the mails it holds, and the next ones at once."""
        self._released.set()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's)
        self.receiving.set()
        await asyncio.get_running_loop().run_in_executor(None, self._released.wait, 30)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def code_for(self, to: str) -> str:
        """The one-time PIN of the last mail to ``to``, waiting a little for the first one (the
        code is mailed off the request path: ``apps.identity.pin_mailer``)."""
        deadline = time.monotonic() + 10
        while not (mails := [m for m in self.messages if to in m["X-Envelope-To"]]):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert mails, f"no mail to {to}: {[m['X-Envelope-To'] for m in self.messages]}"
        body = mails[-1].get_body(preferencelist=("plain",))
        assert body is not None
        return code_in(body.get_content())


def code_in(body: str) -> str:
    """The one-time PIN a mail's body holds (alone on its line, indented)."""
    found = re.search(r"^[ \t]+(\d{6})\s*$", body, re.M)
    assert found, body
    return found.group(1)


@contextmanager
def smtp_server(box: Mailbox | None = None) -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on 127.0.0.1 (a free port): its mailbox (``box``, or a new one) and
    its port."""
    box = box or Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def mailbox(settings) -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 receiving every mail the test sends."""
    with serving(settings, Mailbox()) as box:
        yield box


@pytest.fixture
def held_mailbox(settings) -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 that answers a mail's data only once released."""
    with serving(settings, Mailbox(held=True)) as box:
        try:
            yield box
        finally:
            box.release()  # before the server stops


@contextmanager
def serving(settings, box: Mailbox) -> Iterator[Mailbox]:
    """``box``'s server, with Django's SMTP backend pointed at it."""
    with smtp_server(box) as (box, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield box
