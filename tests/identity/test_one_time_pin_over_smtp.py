"""The one-time PIN end to end with a real SMTP server (aiosmtpd on loopback): the code is
read from the mail as the server received it, and the person reaches the application."""

from __future__ import annotations

import jwt
import pytest

from apps.identity.models import LoginMethodType
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
    assert mailbox.messages == []
