"""A dashboard request that meets an unreachable database gets a 503 page saying so, with
Retry-After, never Django's 500 (apps.console.errors)."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from apps.console.admin_site import AccessConsole

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(admin_user) -> Client:
    """A signed-in operator whose client gets error pages instead of exceptions."""
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    return client


def _failing(exception: Exception):
    """A console page's context that fails (looked up on every request, unlike the views,
    which the admin's URLs capture once)."""

    def each_context(self, request):
        raise exception

    return each_context


def test_an_unreachable_database_is_a_503_page_that_says_so(operator, monkeypatch):
    monkeypatch.setattr(
        AccessConsole, "each_context", _failing(OperationalError("connection refused"))
    )
    response = operator.get(reverse("admin:index"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert "The database is unreachable" in page
    assert "Nothing was changed" in page
    assert "connection refused" not in page  # no detail of the failure on the page


def test_any_other_failure_is_still_the_500_page(operator, monkeypatch):
    monkeypatch.setattr(AccessConsole, "each_context", _failing(RuntimeError("a bug")))
    response = operator.get(reverse("admin:index"))
    assert response.status_code == 500
    assert "The database is unreachable" not in response.content.decode()
