"""identity_of, made cheaper (one pass over the subject and the SANs, the key loaded once, an
ASCII fast path for control characters), gives exactly what the straightforward version
gives: the reference below is that version, kept as the test's oracle."""

from __future__ import annotations

import dataclasses
import hashlib
import unicodedata

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from accessctl.core import identity
from accessctl.core.forwarded import ForwardedCertError, ForwardedCertificate, load_chain
from accessctl.core.identity import UNREADABLE, ClientIdentity, identity_of
from accessctl.core.issuing import issue
from tests.factories import broken, certs

ISSUER = certs.make_ca("Identity Root")
LEAF = certs.make_leaf(ISSUER, "device-1", san_dns=("device-1.example.com",), ou="Eng")


def _reference_control(value: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in value)


def _reference(cert: x509.Certificate) -> tuple:
    """identity_of as it was written first: every part read on its own."""
    found: list[str] = []
    common_name: str | None = None
    problem: str | None = None
    for rdn in cert.subject.rdns:
        cns = [a for a in rdn if a.oid == NameOID.COMMON_NAME]
        if cns and len(rdn) > 1:
            problem = "cn_in_multivalued_rdn"
            break
        found += [str(a.value) for a in cns]
    if problem is None:
        if not found:
            problem = "no_cn"
        elif len(found) > 1:
            problem = "multiple_cn"
        elif _reference_control(found[0]):
            problem = "cn_control_characters"
        else:
            common_name = found[0]
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = [v.lower() for v in ext.get_values_for_type(x509.DNSName)]
        emails = ext.get_values_for_type(x509.RFC822Name)
        uris = ext.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        dns, emails, uris = [], [], []

    def clean(values: list[str]) -> tuple[str, ...]:
        return tuple(v for v in values if not _reference_control(v))

    ous = tuple(
        str(a.value)
        for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        if not _reference_control(str(a.value))
    )
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # In the field order of ClientIdentity.
    return (
        cert.fingerprint(hashes.SHA256()).hex(),
        hashlib.sha256(spki).hexdigest(),
        cert.subject.rfc4514_string(),
        cert.issuer.rfc4514_string(),
        format(cert.serial_number, "x"),
        cert.not_valid_before_utc,
        cert.not_valid_after_utc,
        common_name,
        problem,
        ous,
        clean(dns),
        clean(emails),
        clean(uris),
    )


def _fields(found: ClientIdentity) -> tuple:
    """What identity_of reads from the certificate (not ``chain``: the verified path, which
    check_certificate adds once the chain has verified)."""
    return tuple(
        getattr(found, field.name) for field in dataclasses.fields(found) if field.name != "chain"
    )


# Text with what names hold in practice and in attacks: ASCII, controls, format characters
# (zero-width, bidi), look-alikes, spaces.
_text = st.text(
    alphabet=st.sampled_from("aZ9-. _*@/:\x00\x07\x1f\x7f\u200b\u202e\u0430é\u00a0\ufeff"),
    min_size=1,
    max_size=12,
)
# SAN values are IA5 (ASCII) for the builder; non-ASCII ones come from the raw DER strategies.
_ascii_text = st.text(
    alphabet=st.sampled_from("aZ9-. _*@/:\x00\x07\x1f\x7f"), min_size=1, max_size=12
) | st.just("mallory@example.com")
_oids = st.sampled_from(
    [NameOID.COMMON_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.ORGANIZATION_NAME]
)
_attribute = st.builds(x509.NameAttribute, _oids, _text)
_rdn = st.lists(_attribute, min_size=1, max_size=3, unique_by=lambda a: (a.oid, a.value)).map(
    x509.RelativeDistinguishedName
)
_names = st.lists(_rdn, max_size=4).map(x509.Name)


def _general_name(kind: type[x509.GeneralName], value: str) -> x509.GeneralName | None:
    try:
        return kind(value)  # type: ignore[call-arg]
    except ValueError:  # the builder refuses some (an email without a mailbox)
        return None


_general_names = st.lists(
    st.builds(
        _general_name,
        st.sampled_from([x509.DNSName, x509.RFC822Name, x509.UniformResourceIdentifier]),
        _ascii_text,
    ).filter(lambda name: name is not None),
    max_size=5,
)


@broken.examples(200)
@given(subject=_names, sans=_general_names)
def test_identity_of_equals_the_reference_for_any_names(subject, sans):
    cert = issue(subject, issuer=LEAF.chain[0], subject_alt_names=sans).cert
    assert _fields(identity_of(cert)) == _reference(cert)


@broken.examples(150)
@given(der=broken.broken_der(LEAF))
def test_identity_of_equals_the_reference_for_broken_certificates(der):
    try:
        cert = load_chain(ForwardedCertificate(leaf=der)).leaf
    except ForwardedCertError:
        return
    try:
        expected = _reference(cert)
    except UNREADABLE:
        assert identity.presented_identity(cert) is None
        return
    assert _fields(identity_of(cert)) == expected
    assert _fields(identity_of(cert, public_key=cert.public_key())) == expected


@given(st.text(max_size=20))
def test_the_ascii_fast_path_agrees_with_the_unicode_categories(value):
    assert identity.has_control_characters(value) == _reference_control(value)
