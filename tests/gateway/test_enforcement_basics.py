"""The middleware end to end through the Django test client: pass, refuse, identity page."""

from __future__ import annotations

from tests.gateway.conftest import HOST, escaped, fetch


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
