"""What a client certificate says about its holder, extracted so that names compare safely.

Rules compare against a :class:`ClientIdentity` built from the *verified* leaf only. Name
extraction is deliberately strict (SECURITY-CHECKLIST section D):

- the common name is known only when the subject holds exactly one CN attribute, in an RDN of
  its own, free of control characters; otherwise ``common_name`` is None and
  ``common_name_problem`` says why, so a Common Name rule cannot match;
- values are compared code point for code point: no case folding, no Unicode normalisation,
  so a Cyrillic look-alike never equals its Latin twin;
- attributes are read as attributes, never from the RFC 4514 string, so ``OU=HR + CN=admin``
  cannot smuggle a CN in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """The facts of a verified client certificate that policies and tokens use."""

    fingerprint_sha256: str  # lowercase hex of the DER
    spki_sha256: str  # lowercase hex of the SubjectPublicKeyInfo DER
    subject: str  # RFC 4514, for display and logs only; never compared
    issuer: str  # RFC 4514, for display and logs only
    serial: str  # lowercase hex
    not_before: dt.datetime
    not_after: dt.datetime
    common_name: str | None
    common_name_problem: str | None
    organizational_units: tuple[str, ...]
    san_dns: tuple[str, ...]
    san_emails: tuple[str, ...]
    san_uris: tuple[str, ...]


def has_control_characters(value: str) -> bool:
    """True for NUL and other control or format characters (Cc/Cf), which no name may hold."""
    return any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in value)


def _common_name(subject: x509.Name) -> tuple[str | None, str | None]:
    found: list[str] = []
    for rdn in subject.rdns:
        cns = [a for a in rdn if a.oid == NameOID.COMMON_NAME]
        if cns and len(rdn) > 1:
            return None, "cn_in_multivalued_rdn"
        found += [str(a.value) for a in cns]
    if not found:
        return None, "no_cn"
    if len(found) > 1:
        return None, "multiple_cn"
    if has_control_characters(found[0]):
        return None, "cn_control_characters"
    return found[0], None


def _sans(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return (), (), ()

    def clean(values: list[str]) -> tuple[str, ...]:
        return tuple(v for v in values if not has_control_characters(v))

    return (
        clean([v.lower() for v in ext.get_values_for_type(x509.DNSName)]),
        clean(ext.get_values_for_type(x509.RFC822Name)),
        clean(ext.get_values_for_type(x509.UniformResourceIdentifier)),
    )


def spki_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's SubjectPublicKeyInfo: a pin that survives renewal."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def identity_of(cert: x509.Certificate) -> ClientIdentity:
    """Extract the :class:`ClientIdentity` of a certificate (call it on a verified leaf)."""
    common_name, problem = _common_name(cert.subject)
    dns, emails, uris = _sans(cert)
    ous = tuple(
        str(a.value)
        for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        if not has_control_characters(str(a.value))
    )
    return ClientIdentity(
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        spki_sha256=spki_sha256(cert),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        common_name=common_name,
        common_name_problem=problem,
        organizational_units=ous,
        san_dns=dns,
        san_emails=emails,
        san_uris=uris,
    )


def presented_identity(cert: x509.Certificate) -> ClientIdentity | None:
    """What an *unverified* certificate claims, for logs and the tester; None if unreadable.

    An unknown key type or a malformed extension makes cryptography raise on access; such a
    certificate is described by nothing rather than breaking the caller.
    """
    try:
        return identity_of(cert)
    except (ValueError, UnsupportedAlgorithm):
        return None
