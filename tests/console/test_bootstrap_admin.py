"""`bootstrap_admin` creates the first administrator once, never with a fixed password."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def run(**options) -> str:
    out = io.StringIO()
    call_command("bootstrap_admin", stdout=out, **options)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _no_admin_env(monkeypatch):
    monkeypatch.delenv("ACCESSCTL_ADMIN_USERNAME", raising=False)
    monkeypatch.delenv("ACCESSCTL_ADMIN_PASSWORD", raising=False)


def test_it_creates_an_admin_superuser_and_prints_a_generated_password_that_works():
    output = run()
    password = re.search(r"^Password: (\S+)$", output, re.MULTILINE).group(1)
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.is_active
    assert len(password) >= 20
    assert user.check_password(password)


def test_each_fresh_install_gets_a_different_password():
    first = re.search(r"Password: (\S+)", run()).group(1)
    get_user_model().objects.all().delete()
    second = re.search(r"Password: (\S+)", run()).group(1)
    assert first != second


def test_a_second_run_changes_nothing_and_says_so():
    first = run()
    user = get_user_model().objects.get(username="admin")
    output = run()
    assert "already exists (admin); nothing to do" in output
    assert "Password" not in output
    assert get_user_model().objects.count() == 1
    assert get_user_model().objects.get(pk=user.pk).password == user.password
    assert "Password" in first


def test_it_uses_the_password_from_the_environment_without_printing_it(monkeypatch):
    monkeypatch.setenv("ACCESSCTL_ADMIN_PASSWORD", "correct-horse-battery-staple-42")
    output = run()
    assert "correct-horse-battery-staple-42" not in output
    assert (
        get_user_model()
        .objects.get(username="admin")
        .check_password("correct-horse-battery-staple-42")
    )


def test_it_uses_the_username_from_the_environment(monkeypatch):
    monkeypatch.setenv("ACCESSCTL_ADMIN_USERNAME", "operator")
    run()
    assert get_user_model().objects.filter(username="operator", is_superuser=True).exists()


def test_a_weak_password_from_the_environment_is_refused_with_exit_code_2(monkeypatch):
    monkeypatch.setenv("ACCESSCTL_ADMIN_PASSWORD", "password")
    with pytest.raises(CommandError, match="ACCESSCTL_ADMIN_PASSWORD is too weak") as exc:
        run()
    assert exc.value.returncode == 2
    assert not get_user_model().objects.exists()


def test_an_existing_non_admin_user_with_that_name_is_an_error_not_a_promotion():
    get_user_model().objects.create_user("admin", password="x-long-enough-password-1")
    with pytest.raises(CommandError, match="exists but is not an active administrator") as exc:
        run()
    assert exc.value.returncode == 2
    assert not get_user_model().objects.filter(is_superuser=True).exists()


def test_an_inactive_superuser_does_not_count_as_an_administrator():
    get_user_model().objects.create_superuser("old", password="x-long-enough-password-1")
    get_user_model().objects.filter(username="old").update(is_active=False)
    run()
    assert get_user_model().objects.get(username="admin").is_superuser
