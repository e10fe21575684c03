"""The policy tester shows the revocation result: revoked (by CRL or by the operator), or
which CRLs the path was checked against."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.revocation.services import crl_store, revocation_create
from tests.factories import certs
from tests.factories.hosts import HOST
from tests.factories.policies import POLICY_TESTER, add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(client, viewer):
    client.force_login(viewer)
    root = certs.make_ca("Tester Root")
    inter = certs.make_ca("Tester Devices", issuer=root)
    bundle = upload_ca("Tester CA", [HOST], root, inter)
    add_policy()
    return bundle, root, inter


def submit(client, leaf, *chain):
    return client.post(
        reverse(POLICY_TESTER),
        {"hostname": HOST, "path": "/", "certificate": leaf.pem, "chain": certs.pem_bundle(*chain)},
    )


def test_a_leaf_on_a_crl_is_shown_refused_as_revoked(client, site):
    bundle, _, inter = site
    leaf = certs.make_leaf(inter, "lost")
    crl_store(bundle=bundle, data=certs.make_crl(inter, (leaf,)).der, user=None)
    response = submit(client, leaf)
    assert response.context["chain"].revocation_refused
    assert response.context["outcome"].reason == "certificate_revoked"
    html = response.content.decode()
    assert "<strong>refused</strong>: <code>certificate_revoked</code>" in html
    assert "is on the CRL of CN=Tester Devices" in html


def test_a_revoked_intermediate_is_named_in_the_result(client, site):
    _, _, inter = site
    revocation_create(kind="fingerprint", value=inter.fingerprint, reason="compromised", user=None)
    response = submit(client, certs.make_leaf(inter))
    assert "intermediate serial" in response.content.decode()
    assert "compromised" in response.content.decode()


def test_a_certificate_not_revoked_shows_the_crls_it_was_checked_against(client, site):
    bundle, root, inter = site
    crl_store(bundle=bundle, data=certs.make_crl(root).der, user=None)
    response = submit(client, certs.make_leaf(inter))
    assert response.context["chain"].ok
    html = response.content.decode()
    assert "not revoked" in html and "intermediate: not on the CRL of CN=Tester Root" in html


def test_without_any_crl_the_tester_says_none_applies(client, site):
    _, _, inter = site
    html = submit(client, certs.make_leaf(inter)).content.decode()
    assert "no CRL or revocation applies to this path" in html
