"""The whole login against a real OpenID provider (oidc-provider on loopback): the second
layer, a person who logs in with an allowed email and presents the certificate."""

from __future__ import annotations

import hashlib

import jwt
import pytest

from apps.identity.models import ApplicationLoginMethod, LoginMethod, LoginMethodType
from apps.identity.services import login_method_create
from apps.policies.models import Application
from apps.traffic.models import AccessLogEntry
from tests.factories.hosts import HOST
from tests.factories.traffic import written
from tests.identity.browser import Browser

pytestmark = pytest.mark.django_db

APP = f"http://{HOST}/?year=2026"


def test_a_person_logs_in_and_reaches_the_application_with_the_certificate(
    second_layer, idp, device
):
    browser = Browser(idp.issuer, device)
    page = browser.open(APP)
    assert page.url.startswith(idp.issuer), page.history
    assert browser.history[1].startswith(
        "http://testserver/cdn-cgi/access/login/app.example.com?redirect_url="
    )
    page = browser.log_in_at_idp(page, "ada")
    assert page.status == 200, page.text[:1000]
    assert page.url == APP
    token = browser.cookie(HOST)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["email"] == "ada@example.com"
    assert claims["type"] == "app"
    assert claims["identity_nonce"]
    assert "x5t#S256" in claims["cnf"]  # the policy requires a certificate: bound to it
    assert browser.cookie("testserver")  # the global session on the auth hostname
    again = browser.open(f"http://{HOST}/")
    assert again.status == 200 and again.url == f"http://{HOST}/"


def test_the_origin_receives_the_email_and_get_identity_tells_who_logged_in(
    second_layer, idp, device
):
    browser = Browser(idp.issuer, device)
    browser.log_in_at_idp(browser.open(APP), "ada")
    answer = browser.client(HOST).get(
        "/cdn-cgi/access/get-identity", HTTP_HOST=HOST, REMOTE_ADDR="127.0.0.1"
    )
    identity = answer.json()
    assert identity["email"] == "ada@example.com"
    assert identity["groups"] == ["engineers", "staff"]
    assert identity["idp"]["name"] == "Test IdP"
    assert identity["fingerprint_sha256"] == hashlib.sha256(device.der).hexdigest()


def test_the_access_log_names_the_person_a_session_let_in_or_refused(second_layer, idp, device):
    browser = Browser(idp.issuer, device)
    assert browser.log_in_at_idp(browser.open(APP), "ada").status == 200
    written()
    AccessLogEntry.objects.all().delete()
    assert browser.open(f"http://{HOST}/").status == 200
    browser.certificate = None  # the session is bound to the certificate
    assert browser.open(f"http://{HOST}/").status == 403
    written()
    allowed, refused = AccessLogEntry.objects.order_by("time", "id")
    assert (allowed.decision, allowed.reason) == ("allow", "session")
    assert allowed.identity_email == "ada@example.com"
    assert (refused.decision, refused.reason) == ("deny", "token_cert_mismatch")
    assert refused.identity_email == "ada@example.com"


def test_an_account_outside_the_policy_is_told_it_has_no_access(second_layer, idp, device):
    browser = Browser(idp.issuer, device)
    page = browser.log_in_at_idp(browser.open(APP), "eve")
    assert page.status == 403
    assert "That account does not have access" in page.text
    assert not browser.cookie(HOST)


def test_without_the_certificate_a_login_is_refused(second_layer, idp, device):
    browser = Browser(idp.issuer, None)
    page = browser.log_in_at_idp(browser.open(APP), "ada")
    assert page.status == 403
    assert "A client certificate is required" in page.text
    assert not browser.cookie(HOST)


def test_a_stolen_session_cookie_is_useless_without_the_certificate(second_layer, idp, device):
    browser = Browser(idp.issuer, device)
    browser.log_in_at_idp(browser.open(APP), "ada")
    browser.certificate = None
    page = browser.open(f"http://{HOST}/")
    assert page.status == 403


def test_a_certificate_failing_a_certificate_rule_is_refused_whatever_the_session(
    bound, login_method, idp, device, root_ca
):
    from tests.factories import certs
    from tests.factories.identity import add_identity_policy

    add_identity_policy(
        (("include", "everyone", ""), ("require", "common_name", "laptop-ada")),
    )
    browser = Browser(idp.issuer, device)
    assert browser.log_in_at_idp(browser.open(APP), "ada").status == 200
    browser.certificate = certs.make_leaf(root_ca, "laptop-eve")
    assert browser.open(f"http://{HOST}/").status == 403


def test_scripts_get_401_instead_of_the_login_page(second_layer, idp, device):
    browser = Browser(idp.issuer, device)
    xhr = browser.open(APP, headers={"X-Requested-With": "XMLHttpRequest"})
    assert xhr.status == 401
    json_client = browser.open(APP, headers={"Accept": "application/json"})
    assert json_client.status == 401


def test_logging_out_ends_the_session_and_the_next_visit_asks_to_log_in_again(
    second_layer, idp, device, django_capture_on_commit_callbacks
):
    browser = Browser(idp.issuer, device)
    browser.log_in_at_idp(browser.open(APP), "ada")
    token = browser.cookie(HOST)
    with django_capture_on_commit_callbacks(execute=True):
        browser.open(f"http://{HOST}/cdn-cgi/access/logout")
    # Even the cookie kept by someone else is refused now (on every node: the snapshot).
    replay = Browser(idp.issuer, device)
    replay.client(HOST).cookies["CF_Authorization"] = token
    page = replay.open(f"http://{HOST}/")
    assert page.url.startswith(idp.issuer) or "/cdn-cgi/access/login/" in page.history[-1]


def test_after_the_provider_rotates_its_key_people_still_log_in(second_layer, idp, device):
    before = idp.kid
    idp.restart()
    assert idp.kid != before
    browser = Browser(idp.issuer, device)
    page = browser.log_in_at_idp(browser.open(APP), "ada")
    assert page.status == 200 and page.url == APP


def test_the_provider_refuses_a_login_without_pkce_and_nobody_is_signed_in(
    second_layer, idp, device
):
    LoginMethod.objects.update(pkce_enabled=False)
    browser = Browser(idp.issuer, device)
    page = browser.open(APP)
    assert page.status == 403, page.url
    assert "did not sign you in" in page.text
    assert not browser.cookie(HOST)


def test_a_tampered_state_is_refused(second_layer, idp, device):
    browser = Browser(idp.issuer, device)
    browser.stop_before = "/cdn-cgi/access/callback"
    callback = browser.log_in_at_idp(browser.open(APP), "ada").url
    browser.stop_before = None
    answer = browser.open(callback.replace("state=", "state=x"))
    assert answer.status == 400
    assert "does not belong to this browser" in answer.text


def test_a_callback_for_a_method_the_application_stopped_offering_meanwhile_is_refused(
    second_layer, idp, device
):
    browser = Browser(idp.issuer, device)
    browser.stop_before = "/cdn-cgi/access/callback"
    callback = browser.log_in_at_idp(browser.open(APP), "ada").url
    browser.stop_before = None
    # Meanwhile the operator limits the application to another method.
    other = login_method_create(name="Email", type=LoginMethodType.ONETIMEPIN)
    ApplicationLoginMethod.objects.create(application=Application.objects.get(), login_method=other)
    answer = browser.open(callback)
    assert answer.status == 503 and "No login method is available" in answer.text
    assert not browser.cookie(HOST)


def test_a_replayed_callback_is_refused(second_layer, idp, device):
    browser = Browser(idp.issuer, device)
    browser.log_in_at_idp(browser.open(APP), "ada")
    callback = next(u for u in browser.history if "/cdn-cgi/access/callback" in u)
    answer = browser.open(callback)
    assert answer.status == 400
    assert "already completed" in answer.text


def test_a_tampered_nonce_is_refused(second_layer, idp, device):
    browser = Browser(idp.issuer, device)
    page = browser.open(APP)
    session = browser.client("testserver").session
    for key, value in session.items():
        if key.startswith("_state_") and isinstance(value, dict):
            value["data"]["nonce"] = "not-the-nonce"
    session.save()
    page = browser.log_in_at_idp(page, "ada")
    assert page.status == 403
    assert "could not be verified" in page.text
    assert not browser.cookie(HOST)


def test_a_provider_that_is_down_gives_a_clear_page(second_layer, idp, device):
    LoginMethod.objects.update(issuer_url="http://127.0.0.1:9")
    page = Browser(idp.issuer, device).open(APP)
    assert page.status == 502
    assert "cannot be reached" in page.text


def test_a_second_visit_after_the_cookie_is_gone_skips_the_provider(second_layer, idp, device):
    browser = Browser(idp.issuer, device)
    browser.log_in_at_idp(browser.open(APP), "ada")
    browser.client(HOST).cookies.clear()  # the application's cookie gone, the global session kept
    page = browser.open(APP)
    assert page.status == 200 and page.url == APP
    assert not any(url.startswith(idp.issuer) for url in page.history)
