"""Certificates cryptography parses but cannot fully handle are refused, never a 500."""

from __future__ import annotations

import base64

import pytest

from tests.factories import certs, der
from tests.factories.forwarded import ask, escaped, fetch
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db


@pytest.fixture
def der_format(settings):
    settings.ACCESSCTL_CLIENT_CERT_FORMAT = "der-base64"


def test_a_leaf_with_an_unknown_key_type_from_a_bound_ca_is_refused(client, der_format, access_log):
    ca = certs.make_ca("Bound CA")
    upload_ca("Fleet", [HOST], ca)
    add_policy()
    value = base64.b64encode(certs.unknown_key_leaf(ca)).decode()
    assert fetch(client, HTTP_X_SSL_CLIENT_CERT_DER=value).status_code == 403
    assert access_log.last["reason"] == "cert_unsupported"


def test_a_forged_key_type_in_a_leaf_is_refused(client, guarded, pki, der_format):
    der = certs.with_unknown_key_type(pki.leaf.der)
    value = base64.b64encode(der).decode()
    assert fetch(client, HTTP_X_SSL_CLIENT_CERT_DER=value).status_code == 403


# --- Structurally broken extensions (issue 15): a 403 with a reason, never a 503 ----------


def _broken_leaves(pki) -> dict[str, certs.Issued]:
    leaf = certs.make_leaf(pki.inter, "device-1", san_dns=("device-1.example.com",))
    unknown = der.extension("1.3.6.1.4.1.99999.7", der.tlv(0x05, b""), critical=True)
    return {
        "two SubjectAlternativeName extensions": certs.with_extension_twice(
            leaf, der.SUBJECT_ALT_NAME
        ),
        "an authority key identifier with an issuer and no serial": certs.half_aki(leaf),
        "an unknown critical extension": certs.with_extra_extensions(leaf, unknown),
    }


BROKEN = {
    "two SubjectAlternativeName extensions": "cert_malformed",
    "an authority key identifier with an issuer and no serial": "cert_malformed",
    "an unknown critical extension": "cert_unsupported",
}


@pytest.mark.parametrize("shape", sorted(BROKEN))
def test_a_client_certificate_with_broken_extensions_is_refused_with_its_reason(
    client, guarded, pki, access_log, shape
):
    leaf = _broken_leaves(pki)[shape]
    response = fetch(client, cert=escaped(leaf))
    assert response.status_code == 403
    assert access_log.last["reason"] == BROKEN[shape]


@pytest.mark.parametrize("shape", sorted(BROKEN))
def test_forward_auth_refuses_broken_extensions_with_their_reason(
    client, guarded, pki, access_log, shape
):
    leaf = _broken_leaves(pki)[shape]
    response = ask(client, cert=escaped(leaf), HTTP_X_ORIGINAL_URI="/")
    assert response.status_code == 403
    assert access_log.last["reason"] == BROKEN[shape]


def test_a_forwarded_intermediate_whose_name_constraints_cannot_be_read_is_refused(
    client, guarded, pki, access_log, settings
):
    settings.ACCESSCTL_CLIENT_CERT_FORMAT = "alb"  # a format that forwards the chain
    # Not uploaded: the client sends it as its chain; its issuer is the bound root.
    inter = certs.with_extra_extensions(
        certs.make_ca("Forwarded Devices", issuer=pki.root),
        der.extension(
            der.NAME_CONSTRAINTS, der.name_constraints([der.dns_name("*")]), critical=True
        ),
    )
    leaf = certs.make_leaf(inter, "device-1")
    response = fetch(client, HTTP_X_AMZN_MTLS_CLIENTCERT=escaped(leaf, inter))
    assert response.status_code == 403
    assert access_log.last["reason"] == "cert_malformed"


def test_a_client_with_a_weak_key_from_the_bound_ca_is_refused_as_weak_key(
    client, guarded, pki, access_log
):
    leaf = certs.make_leaf(pki.inter, "device-1", key=certs.weak_key("RSA 1024"))
    assert fetch(client, cert=escaped(leaf)).status_code == 403
    assert access_log.last["reason"] == "weak_key"
    assert ask(client, cert=escaped(leaf), HTTP_X_ORIGINAL_URI="/").status_code == 403
    assert access_log.last["reason"] == "weak_key"
