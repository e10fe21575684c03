"""Checklist D through the middleware and a Common Name policy: names never match by accident."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.factories import certs
from tests.gateway.conftest import HOST, add_policy, escaped, fetch
from tests.policies.trustdata import bind

pytestmark = pytest.mark.django_db

CN = NameOID.COMMON_NAME
OU = NameOID.ORGANIZATIONAL_UNIT_NAME


@pytest.fixture
def cn_policy(db, pki):
    """HOST guarded by a Common Name rule for "admin"."""
    bind("Fleet", [HOST], pki.root, pki.inter)
    return add_policy(name="admins", rules=(("include", "common_name", "admin"),))


def leaf_with(pki, subject: x509.Name) -> certs.Issued:
    return certs.make_leaf(pki.inter, subject=subject)


def test_the_exact_common_name_passes(client, cn_policy, pki):
    admin = certs.make_leaf(pki.inter, "admin")
    assert fetch(client, cert=escaped(admin)).status_code == 200


def test_d16_two_cn_attributes_are_denied(client, cn_policy, pki, access_log):
    subject = x509.Name([x509.NameAttribute(CN, "admin"), x509.NameAttribute(CN, "admin")])
    assert fetch(client, cert=escaped(leaf_with(pki, subject))).status_code == 403
    assert access_log.last["reason"] == "no_matching_policy"


def test_d17_a_nul_in_the_cn_is_denied(client, cn_policy, pki):
    subject = x509.Name([x509.NameAttribute(CN, "admin\0x")])
    assert fetch(client, cert=escaped(leaf_with(pki, subject))).status_code == 403


def test_d18_a_cn_inside_a_multi_valued_rdn_is_no_cn(client, cn_policy, pki):
    rdn = x509.RelativeDistinguishedName(
        [x509.NameAttribute(OU, "HR"), x509.NameAttribute(CN, "admin")]
    )
    assert fetch(client, cert=escaped(leaf_with(pki, x509.Name([rdn])))).status_code == 403


def test_d18_an_ou_that_spells_a_cn_is_no_cn(client, cn_policy, pki):
    subject = x509.Name(
        [x509.NameAttribute(OU, "HR + CN=admin"), x509.NameAttribute(CN, "device-9")]
    )
    assert fetch(client, cert=escaped(leaf_with(pki, subject))).status_code == 403


def test_d19_a_cyrillic_look_alike_is_denied(client, cn_policy, pki):
    lookalike = certs.make_leaf(pki.inter, "\u0430dmin")  # CYRILLIC SMALL LETTER A
    assert fetch(client, cert=escaped(lookalike)).status_code == 403
