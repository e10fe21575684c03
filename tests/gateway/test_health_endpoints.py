"""/_accessctl/healthz and /_accessctl/readyz: JSON for load balancers on every hostname, before
any policy, session or CSRF; ready means the configuration is confirmed."""

from __future__ import annotations

import time

import pytest

from apps.base.backends import cache_is_shared
from apps.gateway.health import HEALTHZ_PATH, READYZ_PATH
from tests.factories.backends import UNREACHABLE_CACHE, unreachable_database
from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import HOST

pytestmark = pytest.mark.django_db

STALE_AT_ONCE = {"ACCESSCTL_CONFIG_CHECK_INTERVAL": 0, "ACCESSCTL_CONFIG_MAX_STALENESS": 0}


@pytest.mark.parametrize("host", [HOST, "testserver", "unguarded.example.com"])
def test_liveness_answers_on_every_hostname_without_a_query_or_a_cookie(
    client, guarded, host, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = fetch(client, HEALTHZ_PATH, host=host)
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies


def test_readiness_on_a_guarded_hostname_is_not_an_access_decision(client, guarded, access_log):
    response = fetch(client, READYZ_PATH)  # no certificate, yet not a 403
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["configuration"]["confirmed_by"] == "database"
    assert body["backends"] == {
        "database": "up",
        "cache": "up" if cache_is_shared() else "not shared",  # Redis in CI's second pass
    }
    assert access_log.records == []
    assert not response.cookies


def test_an_application_path_named_healthz_stays_guarded(client, guarded, pki, access_log):
    assert fetch(client, "/healthz").status_code == 403
    fetch(client, "/healthz", cert=escaped(pki.leaf))  # passed on to the application
    assert [r["decision"] for r in access_log.records] == ["deny", "allow"]


def test_readiness_is_503_when_neither_backend_confirms_the_configuration(
    client, guarded, monkeypatch, settings, caplog
):
    assert fetch(client, READYZ_PATH).status_code == 200
    unreachable_database(monkeypatch)()
    for name, value in STALE_AT_ONCE.items():
        setattr(settings, name, value)
    response = fetch(client, READYZ_PATH)
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["backends"]["database"] == "down"
    assert not [r for r in caplog.records if r.name == "django.request"]


def test_readiness_with_the_database_down_is_confirmed_by_the_cache(
    client, guarded, monkeypatch, settings, shared_cache
):
    settings.ACCESSCTL_CONFIG_CHECK_INTERVAL = 0
    settings.ACCESSCTL_CONFIG_MAX_STALENESS = 0.1
    assert fetch(client, READYZ_PATH).status_code == 200  # the database confirms, and mirrors
    unreachable_database(monkeypatch)()
    time.sleep(0.2)  # longer than the staleness bound: only the cache's copy can confirm now
    response = fetch(client, READYZ_PATH)
    assert response.status_code == 200
    assert response.json()["configuration"]["confirmed_by"] == "cache"
    assert response.json()["backends"] == {"database": "down", "cache": "up"}


def test_readiness_reports_an_unreachable_cache_and_stays_ready(client, guarded, settings):
    settings.CACHES = UNREACHABLE_CACHE
    response = fetch(client, READYZ_PATH)
    assert response.status_code == 200
    assert response.json()["backends"] == {"database": "up", "cache": "down"}


def test_the_probes_answer_only_safe_methods(client):
    assert client.post(HEALTHZ_PATH).status_code == 405
    assert client.head(READYZ_PATH).status_code == 200
