"""The one-time PIN end to end with a real SMTP server (aiosmtpd on loopback): the code is
read from the mail as the server received it, and the person reaches the application. The
mail goes out off the request path: the page answers before the mail server does."""

from __future__ import annotations

import logging
import threading
import time

import jwt
import pytest

from apps.base.draining import drain_all
from apps.identity.models import LoginMethodType
from apps.identity.pin_mailer import PinMail, PinMailer, pin_mailer
from apps.identity.services import login_method_create
from tests.factories.hosts import HOST
from tests.factories.identity import add_identity_policy
from tests.identity.browser import Browser

pytestmark = pytest.mark.django_db

APP = f"http://{HOST}/?from=smtp"


@pytest.fixture
def browser(bound, device) -> Browser:
    """HOST: Allow — Include: Emails ending in @example.com — Require: Valid Certificate, a
    one-time PIN method, and a browser with the certificate."""
    login_method_create(name="Email", type=LoginMethodType.ONETIMEPIN)
    add_identity_policy()
    return Browser(certificate=device)


def test_a_person_signs_in_with_the_code_the_mail_server_received(browser, mailbox):
    page = browser.submit(browser.open(APP), email="ada@example.com")
    assert "a code is on its way to <strong>ada@example.com</strong>" in page.text
    assert pin_mailer.flush()
    (message,) = mailbox.messages
    assert message["X-Envelope-To"] == "ada@example.com"
    assert message["From"] == "accessctl@localhost"
    assert "app.example.com" in message["Subject"]
    page = browser.submit(page, code=mailbox.code_for("ada@example.com"))
    assert (page.status, page.url) == (200, APP), page.text[:800]
    assert "Signed in as <strong>ada@example.com</strong> with Email" in page.text
    claims = jwt.decode(browser.cookie(HOST), options={"verify_signature": False})
    assert claims["email"] == "ada@example.com"
    assert claims["idp"] == {"id": str(claims["idp"]["id"]), "name": "Email", "type": "onetimepin"}


def test_an_address_outside_every_policy_reaches_no_mail_server(browser, mailbox):
    page = browser.submit(browser.open(APP), email="eve@example.org")
    assert "a code is on its way to <strong>eve@example.org</strong>" in page.text
    assert pin_mailer.flush() and mailbox.messages == []


def test_the_page_answers_before_the_mail_server_has_taken_the_mail(
    browser, held_mailbox, settings
):
    settings.EMAIL_TIMEOUT = 5  # a mail sent during the request would give up, and never arrive
    page = browser.submit(browser.open(APP), email="ada@example.com")
    assert "a code is on its way to <strong>ada@example.com</strong>" in page.text
    assert held_mailbox.messages == [] and pin_mailer.pending == 1
    held_mailbox.release()
    assert pin_mailer.flush()
    page = browser.submit(page, code=held_mailbox.code_for("ada@example.com"))
    assert (page.status, page.url) == (200, APP), page.text[:800]


def test_a_full_queue_drops_the_next_mail_and_says_so(held_mailbox, caplog):
    mailer = PinMailer(max_pending=1)
    mails = [PinMail(f"p{n}@example.com", f"00000{n}", "app", "app.example.com") for n in range(3)]
    mailer.send(mails[0])
    assert held_mailbox.receiving.wait(10)  # the first is with the server, held
    mailer.send(mails[1])  # waits in the queue
    with caplog.at_level(logging.ERROR, logger="apps.identity.pin_mailer"):
        mailer.send(mails[2])
    assert mailer.dropped == 1
    assert "one-time PIN mail to p2@example.com dropped" in caplog.text
    held_mailbox.release()
    assert mailer.flush()
    assert [m["X-Envelope-To"] for m in held_mailbox.messages] == [
        "p0@example.com",
        "p1@example.com",
    ]


def test_a_mail_the_server_refuses_is_logged_as_an_error(browser, mailbox, caplog, settings):
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "accessctl", "secret"  # no AUTH
    page = browser.submit(browser.open(APP), email="ada@example.com")
    assert "a code is on its way" in page.text
    with caplog.at_level(logging.ERROR, logger="apps.identity.pin_mailer"):
        assert pin_mailer.flush()
    assert "one-time PIN mail to ada@example.com not sent" in caplog.text
    assert mailbox.messages == []


def test_a_stopping_process_sends_the_mail_it_still_holds_first(held_mailbox):
    pin_mailer.send(PinMail("ada@example.com", "123456", "app", "app.example.com"))
    assert held_mailbox.receiving.wait(10)  # with the server, which has not answered yet
    threading.Timer(0.5, held_mailbox.release).start()
    assert drain_all(timeout=10) is True
    assert [m["X-Envelope-To"] for m in held_mailbox.messages] == ["ada@example.com"]


def test_a_mail_server_that_never_answers_does_not_hold_the_stop_past_its_deadline(
    held_mailbox, caplog
):
    pin_mailer.send(PinMail("ada@example.com", "123456", "app", "app.example.com"))
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="apps.base.draining"):
        assert drain_all(timeout=0.5) is False
    assert time.monotonic() - started < 5
    # Either the drain gave up at its deadline or it was still waiting when drain_all's ran
    # out, a matter of microseconds: both are a stop on time that says the mail was not sent.
    assert "stopping with the one-time PIN mail not finished" in caplog.text
