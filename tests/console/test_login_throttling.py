"""Failed console sign-ins are counted per username (django-axes): after the limit even the
right password is refused, with a message saying why and how to lift it, until the lockout
ends or `accessctl axes_reset_username` lifts it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories.commands import run_command
from tests.factories.users import with_authenticator

PASSWORD = "correct horse battery staple"


@pytest.fixture
def operator(django_user_model, settings):
    settings.ACCESSCTL_LOGIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 3
    return django_user_model.objects.create_superuser("alice", password=PASSWORD)


def sign_in(client, password: str = PASSWORD, code: str = ""):
    data = {"username": "alice", "password": password, "otp_token": code, "next": "/admin/"}
    return client.post(reverse("admin:login"), data)


def test_after_the_limit_even_the_right_password_is_refused_with_a_clear_message(client, operator):
    for _ in range(3):
        assert sign_in(client, "wrong").status_code == 200
    page = sign_in(client).content.decode()
    assert "Too many failed sign-ins for this username: it is locked for 15 minutes" in page
    assert "accessctl axes_reset_username alice" in page
    assert client.get(reverse("admin:index")).status_code == 302


def test_wrong_codes_count_as_failures_too(client, operator):
    with_authenticator(operator)
    for _ in range(3):
        sign_in(client, code="000000")
    assert "Too many failed sign-ins" in sign_in(client).content.decode()


def test_axes_reset_username_lifts_the_lockout_at_once(client, operator):
    for _ in range(3):
        sign_in(client, "wrong")
    run_command("axes_reset_username", "alice")
    assert sign_in(client).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_success_before_the_limit_clears_the_count(client, operator):
    for _ in range(2):
        sign_in(client, "wrong")
    assert sign_in(client).status_code == 302
    client.logout()
    for _ in range(2):
        sign_in(client, "wrong")
    assert sign_in(client).status_code == 302


def test_another_username_is_not_locked(client, operator, django_user_model):
    django_user_model.objects.create_superuser("bob", password=PASSWORD)
    for _ in range(3):
        sign_in(client, "wrong")
    data = {"username": "bob", "password": PASSWORD, "next": "/admin/"}
    assert client.post(reverse("admin:login"), data).status_code == 302
