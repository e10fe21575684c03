"""The out-of-the-box pages: identity on a guarded hostname, the dashboard on its own host."""

from __future__ import annotations

import pytest

from tests.factories.forwarded import escaped, fetch
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db


def test_the_identity_page_shows_the_verified_certificate(client, guarded, pki):
    response = fetch(client, cert=escaped(pki.leaf))
    assert response.status_code == 200
    for text in ("device-1", pki.leaf.fingerprint, "devices"):
        assert text.encode() in response.content


def test_the_identity_is_json_for_api_clients(client, guarded, pki):
    body = fetch(client, cert=escaped(pki.leaf), accept="application/json").json()
    assert body["guarded"] is True
    assert body["policy"] == "devices"
    assert body["identity"]["common_name"] == "device-1"
    assert body["identity"]["fingerprint_sha256"] == pki.leaf.fingerprint
    assert body["identity"]["issuer"] == pki.inter.cert.subject.rfc4514_string()


def test_the_dashboard_host_redirects_to_the_admin(client, guarded):
    response = fetch(client, host="localhost")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_a_dashboard_host_is_never_enforced_even_with_a_policy(client, pki, db, settings):
    # A policy saved while the hostname was an ordinary one: once it serves the dashboard
    # (no new policy is accepted there any more), the old one is not enforced either.
    upload_ca("Fleet", ["console.example.com"], pki.root)
    add_policy("console.example.com")
    settings.ACCESSCTL_DASHBOARD_HOSTS = ["console.example.com"]
    assert fetch(client, host="console.example.com").status_code == 302
    assert fetch(client, host="CONSOLE.example.com:443", path="/admin/login/").status_code == 200


def test_an_unguarded_host_says_no_policy_guards_it(client, db):
    response = fetch(client, host="open.example.com")
    assert response.status_code == 200
    assert b"No access policy guards this hostname" in response.content
