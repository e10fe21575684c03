"""The first administrator is told, with the password, that the first sign-in sets up a
second factor (when one is required)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("required", [True, False])
def test_bootstrap_admin_mentions_the_second_factor_only_when_it_is_required(
    settings, monkeypatch, required
):
    monkeypatch.delenv("ACCESSCTL_ADMIN_PASSWORD", raising=False)
    settings.ACCESSCTL_REQUIRE_2FA = required
    out = io.StringIO()
    call_command("bootstrap_admin", stdout=out)
    said = "asks you to set up a second factor" in out.getvalue()
    assert said is required
