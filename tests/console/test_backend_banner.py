"""While a backend is unreachable from this node, every console page says so in a banner, and
what it means for the guarded hostnames; nothing is shown when all is well."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories.backends import UNREACHABLE_CACHE, unreachable_database

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh(fresh_gateway):
    """No snapshot and no outage remembered from another test."""


def banner(client) -> str:
    page = client.get(reverse("admin:index")).content.decode()
    if "console-backend-banner" not in page:
        return ""
    return page.split("console-backend-banner", 1)[1].split("</ul>", 1)[0]


def test_no_banner_while_every_backend_answers(admin_client):
    assert banner(admin_client) == ""


def test_an_unreachable_cache_is_shown_with_what_it_means(admin_client, settings):
    settings.CACHES = UNREACHABLE_CACHE
    text = banner(admin_client)
    assert "The cache (Redis) has been unreachable from this node" in text
    assert "changes still reach every node through the database" in text


def test_an_unconfirmed_configuration_says_guarded_hostnames_answer_503(
    admin_client, monkeypatch, settings
):
    admin_client.get(reverse("admin:index"))  # the session and the snapshot, loaded
    settings.ACCESSCTL_CONFIG_CHECK_INTERVAL = 0
    settings.ACCESSCTL_CONFIG_MAX_STALENESS = 0
    unreachable_database(monkeypatch)()  # for the configuration check only
    assert "Guarded hostnames answer 503 on this node" in banner(admin_client)
