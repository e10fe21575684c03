"""Certificates cryptography parses but cannot fully handle are refused, never a 500."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from tests.factories import certs
from tests.gateway.conftest import HOST, add_policy, fetch
from tests.policies.trustdata import bind

pytestmark = pytest.mark.django_db

EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")  # OID 1.2.840.10045.2.1
UNKNOWN_KEY = bytes.fromhex("06072a030405060708")  # OID 1.2.3.4.5.6.7.8, same length
ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")


def _length(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100 else b"\x82" + n.to_bytes(2)


def unknown_key_leaf(issuer: certs.Issued) -> bytes:
    """A leaf whose public key algorithm nobody knows, properly signed by ``issuer``."""
    tbs = certs.make_leaf(issuer).cert.tbs_certificate_bytes.replace(EC_PUBLIC_KEY, UNKNOWN_KEY)
    signature = issuer.key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    bits = b"\x03" + _length(len(signature) + 1) + b"\x00" + signature
    body = tbs + ECDSA_SHA256 + bits
    return b"\x30" + _length(len(body)) + body


@pytest.fixture
def der_format(settings):
    settings.ACCESSCTL_CLIENT_CERT_FORMAT = "der-base64"


def test_a_leaf_with_an_unknown_key_type_from_a_bound_ca_is_refused(client, der_format, access_log):
    ca = certs.make_ca("Bound CA")
    bind("Fleet", [HOST], ca)
    add_policy()
    value = base64.b64encode(unknown_key_leaf(ca)).decode()
    assert fetch(client, HTTP_X_SSL_CLIENT_CERT_DER=value).status_code == 403
    assert access_log.last["reason"] == "cert_unsupported"


def test_a_forged_key_type_in_a_leaf_is_refused(client, guarded, pki, der_format):
    der = pki.leaf.der.replace(EC_PUBLIC_KEY, UNKNOWN_KEY)
    value = base64.b64encode(der).decode()
    assert fetch(client, HTTP_X_SSL_CLIENT_CERT_DER=value).status_code == 403
