"""Property tests: structurally broken certificates (tests/factories/broken.py) fed to every
entry point of the pure core end in a refusal with a reason, never an exception.

Each example is a real certificate, re-signed by its issuer, with drawn extensions (own ones
repeated, truncated, re-tagged, known OIDs with odd general names, unknown critical OIDs,
broken TLVs) and sometimes an odd subject.
"""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from accessctl.core import forwarded
from accessctl.core.forwarded import ForwardedCertError
from accessctl.core.identity import presented_identity
from accessctl.core.pem import BundleError, parse_pem_bundle
from accessctl.core.reasons import Reason
from accessctl.core.truststore import validate_ca_bundle
from accessctl.core.verify import CertificateCheck, TrustAnchors, check_certificate
from tests.factories import broken, certs

NOW = certs.now()
ROOT = certs.make_ca("Broken Root")
INTER = certs.make_ca("Broken Devices", issuer=ROOT)
LEAF = certs.make_leaf(
    INTER, "device-1", san_dns=("device-1.example.com",), san_emails=("d@example.com",)
)
ANCHORS = TrustAnchors.build([ROOT.cert], [INTER.cert])
PROPERTY = broken.examples(150)


def _checked(result: CertificateCheck) -> CertificateCheck:
    assert isinstance(result, CertificateCheck)
    assert (result.identity is None) == (result.error is not None)
    assert result.error is None or isinstance(result.error, Reason)
    return result


@PROPERTY
@given(der=broken.broken_der(LEAF), fmt=st.sampled_from(["der-base64", "nginx"]))
def test_a_broken_leaf_is_refused_with_a_reason_or_verified_never_raises(der, fmt):
    value = (
        base64.b64encode(der).decode()
        if fmt == "der-base64"
        else certs.pem_of(der).replace("\n", "%0A").replace("+", "%2B").replace("/", "%2F")
    )
    try:
        decoded = forwarded.decode(fmt, value)
    except ForwardedCertError as exc:
        assert isinstance(exc.reason, Reason)
        return
    assert decoded is not None
    result = _checked(check_certificate(decoded, ANCHORS, now=NOW))
    if result.identity is not None:  # the mutation left a valid client certificate
        assert result.identity.fingerprint_sha256


@PROPERTY
@given(der=broken.broken_der(INTER, signer=ROOT))
def test_a_broken_forwarded_intermediate_is_refused_with_a_reason(der):
    chain = forwarded.ForwardedCertificate(leaf=certs.make_leaf(INTER).der, chain=(der,))
    _checked(check_certificate(chain, TrustAnchors.build([ROOT.cert], []), now=NOW))


@PROPERTY
@given(der=broken.broken_der(ROOT))
def test_a_broken_ca_is_accepted_or_refused_with_a_bundle_error(der):
    pem = certs.pem_of(der)
    try:
        parse_pem_bundle(pem)
        facts = validate_ca_bundle(pem, now=NOW)
    except BundleError as exc:
        assert exc.code and exc.message
        assert all(ch.isprintable() for ch in exc.message)
        return
    # Accepted: then it must be usable by the request path as the CA it claims to be.
    (accepted,) = facts
    assert accepted.der == der


@PROPERTY
@given(der=broken.broken_der(ROOT), inter_der=broken.broken_der(INTER, signer=ROOT))
def test_a_bundle_with_a_broken_intermediate_never_raises_anything_else(der, inter_der):
    try:
        validate_ca_bundle(ROOT.pem + certs.pem_of(inter_der), now=NOW)
    except BundleError:
        pass


@PROPERTY
@given(der=broken.broken_der(LEAF))
def test_describing_a_broken_certificate_never_raises(der):
    try:
        cert = forwarded.load_chain(forwarded.ForwardedCertificate(leaf=der)).leaf
    except ForwardedCertError:
        return
    identity = presented_identity(cert)
    assert identity is None or identity.fingerprint_sha256
