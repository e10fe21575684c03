"""A real SMTP server on loopback (aiosmtpd), and Django's SMTP backend pointed at it: the
messages ``accessctl notify`` delivered, as the server received them."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

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


@pytest.fixture
def mailbox(settings) -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 (a free port) receiving every mail the test sends."""
    controller_module = pytest.importorskip("aiosmtpd.controller")
    box = Mailbox()
    port = free_port()
    controller = controller_module.Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield box
    finally:
        controller.stop()
