"""Signing in with a one-time PIN, through the pages in Django's test client: "Email me a
code", the mail (Django's outbox), the code, and the application; the same page whether or
not a code was sent; wrong, expired, exhausted and replayed codes; throttling; CSRF."""

from __future__ import annotations

import datetime as dt
import logging
import re
from urllib.parse import quote

import jwt
import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from apps.console.servers import free_port
from apps.identity import pins
from apps.identity.models import LoginMethodType, PinChallenge, PinWrongCode
from apps.identity.pin_mailer import pin_mailer
from apps.identity.services import application_set_login_methods, login_method_create
from apps.policies.models import Application
from tests.factories.hosts import HOST
from tests.factories.identity import add_identity_policy, add_login_method
from tests.factories.smtp import code_in
from tests.identity.browser import Browser, Page

pytestmark = pytest.mark.django_db

APP = f"http://{HOST}/?from=mail"
LOGIN = f"/cdn-cgi/access/login/{HOST}?redirect_url=" + quote(APP, safe="")
ADA, EVE = "ada@example.com", "eve@example.org"
ON_ITS_WAY = "If this address may sign in, a code is on its way"


@pytest.fixture
def pin_method(db):
    return login_method_create(name="Email", type=LoginMethodType.ONETIMEPIN)


@pytest.fixture
def second_layer(bound, pin_method):
    """HOST: Allow — Include: Emails ending in @example.com — Require: Valid Certificate."""
    return add_identity_policy()


@pytest.fixture
def browser(device) -> Browser:
    return Browser(certificate=device)


def ask_code(browser: Browser, email: str) -> Page:
    """Open the application, land on its login page, ask for a code for ``email``."""
    page = browser.open(APP)
    assert "Email me a code" in page.text, page.url
    return browser.submit(page, email=email)


def outbox() -> list:
    """The mails sent so far (Django's test outbox), once the mailer handed every one over."""
    assert pin_mailer.flush()
    return mail.outbox


def mailed_code(to: str) -> str:
    (message,) = [m for m in outbox() if m.to == [to]]
    return code_in(message.body)


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_the_login_page_of_a_pin_method_is_its_email_form(client, second_layer):
    page = client.get(LOGIN)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Email me a code" in html and 'name="email"' in html
    assert "csrfmiddlewaretoken" in html


def test_the_login_page_offers_the_code_beside_an_openid_provider(client, second_layer, idp):
    add_login_method(idp.issuer, "other", "secret")
    html = client.get(LOGIN).content.decode()
    assert "Continue with Test IdP" in html and "Email me a code" in html


def test_an_allowed_address_gets_a_code_that_leads_to_the_application(browser, second_layer):
    page = ask_code(browser, "Ada@Example.com")
    assert page.status == 200 and ON_ITS_WAY in page.text
    assert "ada@example.com" in page.text
    (message,) = outbox()
    assert message.to == [ADA] and "is your sign-in code for" in message.subject
    page = browser.submit(page, code=mailed_code(ADA))
    assert page.status == 200, page.text[:800]
    assert page.url == APP
    claims = jwt.decode(browser.cookie(HOST), options={"verify_signature": False})
    assert claims["email"] == ADA
    assert claims["idp"]["type"] == "onetimepin" and claims["idp"]["name"] == "Email"
    assert "x5t#S256" in claims["cnf"]
    identity = (
        browser.client(HOST)
        .get("/cdn-cgi/access/get-identity", HTTP_HOST=HOST, REMOTE_ADDR="127.0.0.1")
        .json()
    )
    assert identity["email"] == ADA and identity["idp"]["type"] == "onetimepin"


def test_an_address_no_policy_could_allow_gets_no_mail_and_the_same_page(device, second_layer):
    allowed = ask_code(Browser(certificate=device), ADA)
    refused = ask_code(Browser(certificate=device), EVE)
    assert [m.to for m in outbox()] == [[ADA]]
    assert refused.status == allowed.status == 200

    def without_the_secrets(page: Page) -> str:
        text = page.text.replace(ADA, "ADDRESS").replace(EVE, "ADDRESS")
        return re.sub(r'value="[^"]*"', 'value=""', text)

    assert without_the_secrets(refused) == without_the_secrets(allowed)


def test_a_wrong_code_says_how_many_attempts_are_left_and_five_kill_it(browser, second_layer):
    page = ask_code(browser, ADA)
    code = mailed_code(ADA)
    for left in (4, 3, 2, 1):
        wrong = other_than(code)
        page = browser.submit(page, code=wrong)
        assert page.status == 400
        assert f"That code is not right. {left} attempt" in page.text
        assert browser.form(page)[1]["code"] == ""  # typed anew, not edited
        assert wrong not in page.text
    page = browser.submit(page, code=other_than(code))
    assert page.status == 403 and "Too many wrong codes" in page.text
    assert "Sign in again" in page.text
    assert not browser.cookie(HOST)


def test_something_that_is_not_a_code_is_told_by_the_field_and_not_counted(browser, second_layer):
    page = ask_code(browser, ADA)
    page = browser.submit(page, code="12 34")
    assert page.status == 400 and "Enter the 6-digit code from the email." in page.text
    assert PinChallenge.objects.get().attempts == 0
    page = browser.submit(page, code=" ".join(mailed_code(ADA)))  # spaces are forgiven
    assert page.url == APP


def test_an_expired_code_gets_a_clear_page(browser, second_layer):
    page = ask_code(browser, ADA)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10, seconds=1)):
        page = browser.submit(page, code=mailed_code(ADA))
    assert page.status == 400 and "The code has expired" in page.text
    assert "Sign in again" in page.text


def test_a_code_used_once_cannot_be_replayed(browser, second_layer):
    form = ask_code(browser, ADA)
    url, data = browser.form(form, code=mailed_code(ADA))
    assert browser.open(url, data=data).url == APP
    replay = browser.open(url, data=data)
    assert replay.status == 400 and "This code was already used" in replay.text


def test_the_code_form_of_another_browser_is_refused(device, second_layer):
    form = ask_code(Browser(certificate=device), ADA)
    thief = Browser(certificate=device)
    _, own = thief.form(thief.open(APP))  # a session and a CSRF token of its own
    url, stolen = thief.form(form, code=mailed_code(ADA))
    page = thief.open(url, data={**stolen, "csrfmiddlewaretoken": own["csrfmiddlewaretoken"]})
    assert page.status == 400 and "No code was asked for in this browser" in page.text
    assert not thief.cookie(HOST)


def test_a_sixth_code_for_one_address_in_fifteen_minutes_is_refused(device, second_layer):
    for _ in range(5):
        assert ask_code(Browser(certificate=device), ADA).status == 200
    page = ask_code(Browser(certificate=device), ADA)
    assert page.status == 429 and "Too many codes asked for" in page.text
    assert len(outbox()) == 5


def test_a_newer_code_for_the_address_makes_the_earlier_one_invalid(device, second_layer):
    first_browser, second_browser = Browser(certificate=device), Browser(certificate=device)
    first = ask_code(first_browser, ADA)
    first_code = mailed_code(ADA)
    mail.outbox.clear()
    second = ask_code(second_browser, ADA)
    page = first_browser.submit(first, code=first_code)
    assert page.status == 400 and "This code is no longer valid" in page.text
    assert second_browser.submit(second, code=mailed_code(ADA)).url == APP


def test_once_the_wrong_code_budget_is_spent_the_method_mails_no_code_for_a_while(
    device, second_layer, pin_method, caplog
):
    browser = Browser(certificate=device)
    page = ask_code(browser, ADA)
    PinWrongCode.objects.bulk_create(
        PinWrongCode(login_method=pin_method, created_at=timezone.now())
        for _ in range(pins.WRONG_CODES_PER_HOUR - 1)
    )
    with caplog.at_level(logging.ERROR, logger="apps.identity.pins"):
        page = browser.submit(page, code=other_than(mailed_code(ADA)))
    assert page.status == 400 and "That code is not right. 4 attempts left." in page.text
    assert "no new code can be asked for now, try again later" in page.text
    assert "one-time PIN method 'Email': 200 wrong codes in the last hour" in caplog.text
    refused = ask_code(Browser(certificate=device), "bob@example.com")
    assert refused.status == 429 and "Too many wrong codes lately" in refused.text
    assert [m.to for m in outbox()] == [[ADA]]
    assert browser.submit(page, code=mailed_code(ADA)).url == APP  # a code mailed still works
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1, seconds=1)):
        assert ask_code(Browser(certificate=device), "bob@example.com").status == 200


def test_a_bad_address_is_told_by_the_field(browser, second_layer):
    page = ask_code(browser, "not an address")
    assert page.status == 400 and "Enter a valid email address." in page.text
    assert not outbox() and not PinChallenge.objects.exists()


def test_the_forms_are_refused_without_their_csrf_token(second_layer, pin_method):
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)
    answer = client.post(
        f"/cdn-cgi/access/pin/{HOST}?redirect_url={quote(APP, safe='')}",
        {"email": ADA, "method": pin_method.pk},
    )
    assert answer.status_code == 403
    assert "This form has expired" in answer.content.decode()
    assert not outbox()


def test_the_pin_pages_are_served_on_the_authentication_hostname_only(client, second_layer):
    assert client.get("/cdn-cgi/access/pin", HTTP_HOST="localhost").status_code == 404


def test_a_mail_server_that_cannot_be_reached_changes_nothing_on_the_page(
    browser, second_layer, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    page = ask_code(browser, ADA)
    assert page.status == 200 and ON_ITS_WAY in page.text


def test_a_disabled_method_is_no_longer_offered_nor_accepted(browser, second_layer, pin_method):
    page = ask_code(browser, ADA)
    pin_method.enabled = False
    pin_method.save()
    page = browser.submit(page, code=mailed_code(ADA))
    assert page.status == 503 and "No login method is available" in page.text


def test_a_code_no_longer_works_once_the_application_stops_offering_the_method(
    browser, second_layer
):
    page = ask_code(browser, ADA)
    other = add_login_method("https://sso.example.com", "other", "secret", name="Other IdP")
    application_set_login_methods(application=Application.objects.get(), methods=[other])
    page = browser.submit(page, code=mailed_code(ADA))
    assert page.status == 503 and "No login method is available" in page.text
    assert not browser.cookie(HOST)
