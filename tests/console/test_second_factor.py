"""Operators' second factor, through the login page as a browser posts it: the first sign-in
sets up an authenticator app (its code computed from the key the page shows), later sign-ins
need its code or a one-time recovery code, and a session without one reaches nothing."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.console.second_factor import RECOVERY_CODE_COUNT
from tests.factories.commands import refusal, run_command
from tests.factories.users import current_code, with_authenticator

PASSWORD = "correct horse battery staple"
LOGIN = "admin:login"
INDEX = "admin:index"
SECOND_FACTOR = "admin:second_factor"


@pytest.fixture(autouse=True)
def _second_factor_required(settings):
    settings.ACCESSCTL_REQUIRE_2FA = True


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("alice", password=PASSWORD)


def sign_in(client, code: str = "", *, password: str = PASSWORD, username: str = "alice"):
    data = {"username": username, "password": password, "otp_token": code, "next": "/admin/"}
    return client.post(reverse(LOGIN), data)


def test_the_first_sign_in_sets_up_an_authenticator_and_shows_recovery_codes_once(client, operator):
    assert sign_in(client).status_code == 302
    # Signed in with the password alone: every console page leads to the setup page.
    home = client.get(reverse(INDEX), follow=True)
    assert home.redirect_chain[-1][0] == reverse(SECOND_FACTOR)
    page = home.content.decode()
    assert "<svg" in page and "Set up your second factor" in page
    secret = re.search(r'class="second-factor-secret">([A-Z2-7 ]+)<', page).group(1)
    device = TOTPDevice.objects.get(user=operator)
    assert not device.confirmed
    assert secret.replace(" ", "") in device.config_url  # the key the app is given

    codes_page = client.post(reverse(SECOND_FACTOR), {"code": current_code(device)})
    assert codes_page.status_code == 200
    assert codes_page["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>(\w+)</code></li>", codes_page.content.decode())
    assert len(codes) == RECOVERY_CODE_COUNT
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse(INDEX)).status_code == 200  # this session is verified now
    assert codes[0] not in client.get(reverse(SECOND_FACTOR)).content.decode()


def test_a_wrong_code_keeps_the_authenticator_unconfirmed(client, operator):
    sign_in(client)
    client.get(reverse(SECOND_FACTOR))
    response = client.post(reverse(SECOND_FACTOR), {"code": "000000"})
    assert "That code does not match" in response.content.decode()
    assert not TOTPDevice.objects.get(user=operator).confirmed
    assert client.get(reverse(INDEX)).status_code == 302


def test_a_password_only_session_reaches_no_console_page(client, operator):
    sign_in(client)
    for url in (reverse(INDEX), reverse("admin:policies_accesspolicy_changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse(LOGIN))


def test_with_an_authenticator_the_password_alone_is_refused(client, operator):
    with_authenticator(operator)
    response = sign_in(client)
    assert response.status_code == 200
    assert "Enter the 6-digit code from your authenticator app" in response.content.decode()
    assert "That code is not valid" in sign_in(client, "123456").content.decode()
    assert client.get(reverse(INDEX)).status_code == 302


def test_the_current_code_signs_in_and_verifies_the_session(client, operator):
    device = with_authenticator(operator)
    assert sign_in(client, current_code(device)).status_code == 302
    assert client.get(reverse(INDEX)).status_code == 200


def test_a_recovery_code_signs_in_once(client, operator):
    with_authenticator(operator)
    device = operator.staticdevice_set.create(name="Recovery codes", confirmed=True)
    device.token_set.create(token="k3y5t0n3")
    assert sign_in(client, "k3y5 t0n3").status_code == 302
    assert client.get(reverse(INDEX)).status_code == 200
    client.logout()
    assert "That code is not valid" in sign_in(client, "k3y5t0n3").content.decode()


def test_an_operator_with_an_authenticator_is_asked_for_it_even_where_none_is_required(
    client, operator, settings
):
    settings.ACCESSCTL_REQUIRE_2FA = False
    with_authenticator(operator)
    assert sign_in(client).status_code == 200
    client.logout()
    operator.totpdevice_set.all().delete()
    assert sign_in(client).status_code == 302
    assert client.get(reverse(INDEX)).status_code == 200  # not required: the password does


def test_second_factor_reset_lets_the_operator_set_up_a_new_one(client, operator):
    with_authenticator(operator)
    assert run_command("second_factor", "status", "alice") == (
        "alice: authenticator app set up; 0 recovery code(s) left\n"
    )
    assert "they set up new ones" in run_command("second_factor", "reset", "alice")
    assert not TOTPDevice.objects.filter(user=operator).exists()
    sign_in(client)
    assert client.get(reverse(INDEX), follow=True).redirect_chain[-1][0] == reverse(SECOND_FACTOR)
    assert refusal("second_factor", "reset", "nobody") == "no user 'nobody'"
