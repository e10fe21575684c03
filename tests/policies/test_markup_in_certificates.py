"""Markup in certificate fields is shown as text, never run (no cross-site scripting): certificate
subjects are chosen by whoever made the certificate, and the dashboard renders them."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.urls import reverse

from tests.factories import certs as f
from tests.factories.forwarded import fetch
from tests.factories.hosts import HOST
from tests.factories.policies import POLICY_TESTER, add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'


def assert_escaped(html: str) -> None:
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)" in html


@pytest.fixture
def hostile_ca():
    """A CA whose subject carries markup in its CN and O."""
    return f.make_ca(subject=f.subject_name(SCRIPT, O=IMG))


@pytest.fixture
def uploaded(hostile_ca):
    bundle = upload_ca("Hostile " + SCRIPT, [HOST], hostile_ca)
    add_policy(name="fleet " + SCRIPT, decision="allow", rules=[("include", "common_name", SCRIPT)])
    return bundle


def test_the_trust_store_pages_escape_certificate_fields(admin_client, uploaded):
    listing = admin_client.get(reverse("admin:trust_mtlscertificate_changelist"))
    detail = admin_client.get(reverse("admin:trust_mtlscertificate_change", args=[uploaded.pk]))
    assert listing.status_code == detail.status_code == 200
    assert_escaped(listing.content.decode())
    assert_escaped(detail.content.decode())


def test_the_policy_pages_escape_names_and_rule_values(admin_client, uploaded):
    listing = admin_client.get(reverse("admin:policies_accesspolicy_changelist"))
    assert listing.status_code == 200
    assert_escaped(listing.content.decode())


def test_the_policy_tester_escapes_the_pasted_certificate(admin_client, uploaded, hostile_ca):
    leaf = f.make_leaf(hostile_ca, SCRIPT, subject=f.subject_name(SCRIPT, OU=IMG))
    response = admin_client.post(
        reverse(POLICY_TESTER), {"hostname": HOST, "path": "/", "certificate": leaf.pem}
    )
    assert response.status_code == 200
    assert_escaped(response.content.decode())


def test_the_identity_page_escapes_the_clients_certificate(client, uploaded, hostile_ca, settings):
    settings.ALLOWED_HOSTS = [HOST]
    leaf = f.make_leaf(hostile_ca, SCRIPT, subject=f.subject_name(SCRIPT, OU=IMG))
    response = fetch(client, cert=quote(leaf.pem, safe=""), host=HOST)
    assert response.status_code == 200
    assert_escaped(response.content.decode())
