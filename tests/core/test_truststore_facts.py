"""What validate_ca_bundle returns for an accepted bundle, and that it suits the verifier."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography import x509

from accessctl.core.truststore import CaFacts, bundle_pem, validate_ca_bundle
from accessctl.core.verify import TrustAnchors, verify_client_chain
from tests.factories import certs as f


@pytest.fixture(scope="module")
def chain():
    root = f.make_ca("Facts Root", key_type="rsa")
    return root, f.make_ca("Facts Devices", issuer=root)


def test_every_certificate_of_the_bundle_is_described(chain):
    root, inter = chain
    facts = validate_ca_bundle(root.pem + inter.pem, now=f.now())
    first, second = facts
    assert first == CaFacts(
        position=1,
        subject="CN=Facts Root,O=accessctl tests",
        issuer="CN=Facts Root,O=accessctl tests",
        serial_hex=format(root.cert.serial_number, "x"),
        fingerprint_sha256=root.fingerprint,
        not_before=root.cert.not_valid_before_utc,
        not_after=root.cert.not_valid_after_utc,
        key_type="RSA",
        key_size=2048,
        signature_algorithm="sha256WithRSAEncryption",
        is_root=True,
        der=root.der,
    )
    assert second.position == 2
    assert second.is_root is False
    assert second.subject == "CN=Facts Devices,O=accessctl tests"
    assert second.issuer == "CN=Facts Root,O=accessctl tests"
    assert second.key_type == "ECDSA P-256"
    assert second.signature_algorithm == "sha256WithRSAEncryption"  # signed by the RSA root
    assert x509.load_der_x509_certificate(second.der) == inter.cert


def test_facts_are_immutable(chain):
    root, _ = chain
    (facts,) = validate_ca_bundle(root.pem, now=f.now())
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.is_root = False  # type: ignore[misc]


def test_an_accepted_bundle_verifies_clients_of_its_intermediate(chain):
    root, inter = chain
    facts = validate_ca_bundle(inter.pem + root.pem, now=f.now())
    certs = [x509.load_der_x509_certificate(c.der) for c in facts]
    anchors = TrustAnchors.build(
        [c for c, fact in zip(certs, facts, strict=True) if fact.is_root],
        [c for c, fact in zip(certs, facts, strict=True) if not fact.is_root],
    )
    leaf = f.make_leaf(inter, "device-9")
    verified = verify_client_chain(leaf.cert, [], anchors, now=f.now())
    assert verified.identity.common_name == "device-9"


def test_the_stored_bundle_is_the_certificates_alone_in_upload_order(chain):
    root, inter = chain
    text = "comment\r\n" + inter.pem.replace("\n", "\r\n") + "more words\n" + root.pem
    assert bundle_pem(validate_ca_bundle(text, now=f.now())) == inter.pem + root.pem
