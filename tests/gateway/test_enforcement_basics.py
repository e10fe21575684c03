"""The middleware end to end through the Django test client: pass, refuse, identity page."""

from __future__ import annotations

import dataclasses

import pytest

from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import HOST


def test_a_valid_certificate_reaches_the_identity_page(client, guarded, pki, access_log):
    response = fetch(client, cert=escaped(pki.leaf))
    assert response.status_code == 200
    assert b"device-1" in response.content
    assert access_log.last["decision"] == "allow"
    assert access_log.last["cert_common_name"] == "device-1"


def test_no_certificate_is_a_403_page_with_a_request_id(client, guarded, access_log):
    response = fetch(client)
    assert response.status_code == 403
    assert response["X-Request-Id"].encode() in response.content
    assert access_log.last["reason"] == "certificate_required"
    assert access_log.last["hostname"] == HOST


def test_views_receive_a_frozen_access_record(client, guarded, pki):
    response = fetch(client, cert=escaped(pki.leaf))
    access = response.wsgi_request.access
    assert access.hostname == HOST
    assert access.identity.fingerprint_sha256 == pki.leaf.fingerprint
    assert access.policy.name == "devices"
    assert access.outcome.allowed is True
    assert access.request_id.encode() in response.content  # shown on the identity page
    with pytest.raises(dataclasses.FrozenInstanceError):
        access.hostname = "other.example.com"


def test_an_unguarded_or_dashboard_request_has_access_none(client, guarded):
    assert fetch(client, host="open.example.com").wsgi_request.access is None
    assert fetch(client, host="localhost").wsgi_request.access is None


@pytest.mark.parametrize("remote", ["127.0.0.1", "203.0.113.9"])
def test_a_misconfigured_format_refuses_instead_of_failing(
    client, guarded, pki, settings, access_log, remote
):
    settings.ACCESSCTL_CLIENT_CERT_FORMAT = "apache"  # also reported by check accessctl.E003
    assert fetch(client, cert=escaped(pki.leaf), remote=remote).status_code == 403
    assert access_log.last["decision"] == "deny"


def test_a_failing_decision_is_a_503_never_a_pass_or_a_500(
    client, guarded, pki, access_log, monkeypatch
):
    from apps.gateway import decision

    def broken(policies, facts):
        raise RuntimeError("a bug in the evaluator")

    monkeypatch.setattr(decision, "evaluate", broken)
    assert fetch(client, cert=escaped(pki.leaf)).status_code == 503
    assert access_log.last["reason"] == "decision_error"
