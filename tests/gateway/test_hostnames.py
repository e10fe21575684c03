"""The Host header alone, normalized, selects the hostname's policy."""

from __future__ import annotations

import pytest

from apps.gateway import config
from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import HOST, OTHER

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("spelling", ["APP.Example.com.", "app.example.com:443", "App.Example.COM"])
def test_every_spelling_of_the_host_gets_its_policy(client, guarded, pki, spelling):
    assert fetch(client, host=spelling).status_code == 403
    assert fetch(client, host=spelling, cert=escaped(pki.leaf)).status_code == 200


def test_a_host_outside_allowed_hosts_is_a_400_without_policy_lookup(
    client, guarded, pki, access_log, monkeypatch
):
    looked_up = []
    monkeypatch.setattr(config, "current_snapshot", lambda: looked_up.append(1))
    response = fetch(client, host="evil.invalid", cert=escaped(pki.leaf))
    assert response.status_code == 400
    assert looked_up == []
    assert access_log.records == []


def test_an_sni_that_differs_from_the_host_is_a_421(client, guarded, pki, settings, access_log):
    settings.ACCESSCTL_SNI_HEADER = "X-SSL-Server-Name"
    leaf = escaped(pki.leaf)
    assert fetch(client, cert=leaf, HTTP_X_SSL_SERVER_NAME=OTHER).status_code == 421
    assert access_log.last["decision"] == "misdirected"
    assert fetch(client, cert=leaf).status_code == 421  # no SNI at all
    assert fetch(client, cert=leaf, HTTP_X_SSL_SERVER_NAME="APP.example.com").status_code == 200


def test_the_sni_header_is_ignored_from_an_untrusted_peer(client, guarded, settings):
    settings.ACCESSCTL_SNI_HEADER = "X-SSL-Server-Name"
    response = fetch(client, remote="203.0.113.9", HTTP_X_SSL_SERVER_NAME=OTHER)
    assert response.status_code == 403  # decided on the certificate (none), not a 421


def test_x_forwarded_host_never_selects_the_policy(client, guarded, pki):
    # Guarded Host, unguarded X-Forwarded-Host: still guarded.
    assert fetch(client, HTTP_X_FORWARDED_HOST=OTHER).status_code == 403
    # Unguarded Host, guarded X-Forwarded-Host: the guarded policy is not applied.
    response = fetch(client, host=OTHER, HTTP_X_FORWARDED_HOST=HOST, accept="application/json")
    assert response.status_code == 200
    assert response.json() == {"hostname": OTHER, "guarded": False}
