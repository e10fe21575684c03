"""A real SMTP server on loopback (aiosmtpd), and Django's SMTP backend pointed at it: the
messages ``accessctl notify`` and the one-time PIN pages delivered, as the server received
them. :func:`smtp_server` alone serves a stack started in other processes (tests/e2e)."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from apps.console.servers import free_port


class Mailbox:
    """What the server received (aiosmtpd's handler interface)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def code_for(self, to: str) -> str:
        """The one-time PIN of the last mail to ``to``."""
        mails = [m for m in self.messages if to in m["X-Envelope-To"]]
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
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on 127.0.0.1 (a free port): its mailbox and its port."""
    box = Mailbox()
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
    with smtp_server() as (box, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield box
