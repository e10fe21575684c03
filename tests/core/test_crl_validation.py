"""A CRL is accepted only when well formed, direct, complete, current and signed by its CA."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from accessctl.core.revocation import CrlError, validate_crl
from tests.factories.certs import Issued, make_ca, make_crl, make_leaf, new_key, now


@pytest.fixture(scope="module")
def pki():
    root = make_ca("CRL Root")
    inter = make_ca("CRL Devices", issuer=root)
    return root, inter


def refusal(data: bytes, cas, code: str) -> str:
    with pytest.raises(CrlError) as caught:
        validate_crl(data, cas, now=now())
    assert caught.value.code == code
    return caught.value.message


def test_a_pem_crl_signed_by_the_intermediate_is_accepted_with_its_serials(pki):
    root, inter = pki
    leaf = make_leaf(inter)
    facts = validate_crl(
        make_crl(inter, (leaf, 77), crl_number=5).pem, [root.cert, inter.cert], now=now()
    )
    assert facts.issuer_fingerprint == inter.fingerprint
    assert facts.revoked == {leaf.cert.serial_number, 77}
    assert facts.crl_number == 5


def test_a_der_crl_is_accepted_too(pki):
    root, _ = pki
    facts = validate_crl(make_crl(root).der, [root.cert], now=now())
    assert facts.issuer_fingerprint == root.fingerprint and facts.revoked == frozenset()


def test_a_crl_with_a_bad_signature_is_refused(pki):
    root, _ = pki
    forged = make_crl(root, signer=new_key())
    assert "does not verify" in refusal(forged.der, [root.cert], "bad_signature")


def test_a_crl_of_another_ca_is_refused_naming_its_issuer(pki):
    root, _ = pki
    other = make_ca("Someone Else")
    message = refusal(make_crl(other).der, [root.cert], "wrong_ca")
    assert "Someone Else" in message and "CRL Root" in message


def test_garbage_is_refused_as_malformed(pki):
    root, _ = pki
    refusal(b"\x30\x03garbage", [root.cert], "malformed")
    refusal(b"", [root.cert], "empty")


def test_a_certificate_in_pem_is_refused_as_not_a_crl(pki):
    root, _ = pki
    assert "CERTIFICATE" in refusal(root.pem.encode(), [root.cert], "not_a_crl")


def test_an_expired_crl_is_refused(pki):
    root, _ = pki
    old = now() - dt.timedelta(days=10)
    expired = make_crl(root, this_update=old, next_update=old + dt.timedelta(days=7))
    assert "has passed" in refusal(expired.der, [root.cert], "expired")


def test_a_crl_dated_in_the_future_is_refused(pki):
    root, _ = pki
    future = make_crl(root, this_update=now() + dt.timedelta(days=1))
    refusal(future.der, [root.cert], "not_yet_valid")


def test_an_indirect_crl_is_refused(pki):
    root, _ = pki
    point = x509.IssuingDistributionPoint(
        full_name=None,
        relative_name=None,
        only_contains_user_certs=False,
        only_contains_ca_certs=False,
        only_some_reasons=None,
        indirect_crl=True,
        only_contains_attribute_certs=False,
    )
    indirect = make_crl(root, extensions=((point, True),))
    assert "indirect" in refusal(indirect.der, [root.cert], "indirect_crl")


def test_an_entry_naming_another_issuer_is_refused_as_indirect(pki):
    root, _ = pki
    other = x509.CertificateIssuer([x509.DirectoryName(make_ca("Other").cert.subject)])
    crl = make_crl(root, (5,), entry_extensions=((other, True),))
    refusal(crl.der, [root.cert], "indirect_crl")


def test_a_delta_crl_is_refused(pki):
    root, _ = pki
    delta = make_crl(root, extensions=((x509.DeltaCRLIndicator(1), True),))
    refusal(delta.der, [root.cert], "delta_crl")


def test_a_crl_signed_by_a_ca_without_crl_sign_is_refused():
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "No CRL Sign")])
    # The factories always grant cRLSign: this CA's keyUsage is keyCertSign only.
    key_cert_sign_only = x509.KeyUsage(False, False, False, False, False, True, False, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now() - dt.timedelta(days=1))
        .not_valid_after(now() + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(key_cert_sign_only, critical=True)
        .sign(key, hashes.SHA256())
    )
    ca = Issued(cert=cert, key=key)
    assert "cRLSign" in refusal(make_crl(ca).der, [cert], "not_crl_signer")
