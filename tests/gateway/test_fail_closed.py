"""With the database (and cache) unreachable, guarded and unknown hostnames
answer 503 once the configuration can no longer be confirmed; dashboard hostnames keep working;
service resumes by itself."""

from __future__ import annotations

import contextlib
from unittest import mock

import pytest
from django.core.cache import caches
from django.db import OperationalError, connection

from apps.gateway import config
from tests.factories.backends import Clock
from tests.factories.forwarded import escaped, fetch

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch, settings) -> Clock:
    """A holder reading the real database, on a clock the test moves."""
    settings.ACCESSCTL_CONFIG_CHECK_INTERVAL = 0.5
    settings.ACCESSCTL_CONFIG_MAX_STALENESS = 1.0
    fake = Clock()
    monkeypatch.setattr(config, "holder", config.ConfigHolder(clock=fake))
    return fake


@contextlib.contextmanager
def database_down():
    """Every query fails as it does when the server is gone, and so does the cache (which, when
    shared, would otherwise still confirm the version)."""

    def refuse(execute, sql, params, many, context):
        raise OperationalError("could not connect to server: Connection refused")

    unreachable = ConnectionError("cache server unreachable")
    with (
        connection.execute_wrapper(refuse),
        mock.patch.object(caches["default"], "get", side_effect=unreachable),
        mock.patch.object(caches["default"], "set", side_effect=unreachable),
    ):
        yield


def test_an_outage_shorter_than_the_staleness_limit_changes_nothing(client, guarded, clock):
    assert fetch(client).status_code == 403
    with database_down():
        clock.now += 0.6
        assert fetch(client).status_code == 403  # still decided, on a confirmed snapshot


def test_a_longer_outage_answers_503_for_guarded_and_unguarded_hosts(
    client, guarded, clock, access_log
):
    assert fetch(client).status_code == 403
    with database_down():
        clock.now += 0.6
        fetch(client)
        clock.now += 0.6
        response = fetch(client, accept="application/json")
        assert response.status_code == 503
        assert response.json() == {"error": "unavailable", "request_id": response["X-Request-Id"]}
        assert access_log.last["reason"] == "config_unconfirmed"
        assert fetch(client, host="unguarded.example.com").status_code == 503


def test_a_valid_certificate_does_not_pass_during_the_outage(client, guarded, pki, clock):
    assert fetch(client, cert=escaped(pki.leaf)).status_code == 200
    with database_down():
        clock.now += 1.2
        assert fetch(client, cert=escaped(pki.leaf)).status_code == 503


def test_the_dashboard_host_is_unaffected(client, guarded, clock):
    fetch(client)
    with database_down():
        clock.now += 5
        response = fetch(client, host="localhost")
        assert response.status_code == 302
        assert response["Location"] == "/admin/"


def test_service_resumes_by_itself(client, guarded, pki, clock):
    fetch(client)
    with database_down():
        clock.now += 5
        assert fetch(client).status_code == 503
    clock.now += 0.5
    assert fetch(client).status_code == 403
    assert fetch(client, cert=escaped(pki.leaf)).status_code == 200


def test_a_database_down_from_the_start_is_503(client, guarded, clock):
    with database_down():
        assert fetch(client).status_code == 503
        assert b"Temporarily unavailable" in fetch(client).content
