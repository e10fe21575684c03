"""What a client certificate says about its holder, extracted so that names compare safely.

Rules compare against a :class:`ClientIdentity` built from the *verified* leaf only. Name
extraction is deliberately strict (docs/security.md, "Names"):

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
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID

from accessctl.core.revocation import ChainLink

# What cryptography raises when it reads a part of a certificate it cannot make sense of: a
# malformed or duplicate extension, a general name of a type it does not know, an odd string
# in a name, a key of an unknown algorithm. Certificates are parsed lazily, so any access to
# ``extensions``, ``subject``, ``issuer`` or ``public_key()`` may raise one of these; every
# caller that reads an untrusted certificate catches exactly this tuple.
UNREADABLE = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


def unreadable_detail(exc: Exception) -> str:
    """A short, printable account of an :data:`UNREADABLE` error, safe to log and to show
    (cryptography's messages may quote bits of the certificate)."""
    if isinstance(exc, x509.DuplicateExtension):
        return f"duplicate extension {extension_name(exc.oid)}"
    return short_text(f"{type(exc).__name__}: {exc}")


def short_text(text: str, limit: int = 200) -> str:
    """A message about a certificate, made safe for a log line or a form: printable, at most
    ``limit`` characters, without the verifier's "(encountered processing <Certificate…>)"
    tail, which repeats the certificate's own (attacker-chosen) subject."""
    text = text.split(" (encountered processing", 1)[0]
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def extension_name(oid: x509.ObjectIdentifier) -> str:
    """``keyUsage (2.5.29.15)``, or the dotted OID alone for an extension nobody named."""
    name = getattr(oid, "_name", "Unknown OID")
    return oid.dotted_string if name == "Unknown OID" else f"{name} ({oid.dotted_string})"


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
    # The verified path, leaf first (set by accessctl.core.verify once the chain verified;
    # empty for a presented, unverified certificate): what a revocation is checked against.
    chain: tuple[ChainLink, ...] = ()


def has_control_characters(value: str) -> bool:
    """True for NUL and other control or format characters (Cc/Cf), which no name may hold."""
    if value.isascii():
        # ASCII has no format (Cf) characters and its only non-printable ones are Cc: the
        # same answer as the loop below, without a lookup per character.
        return not value.isprintable()
    return any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in value)


def _subject_names(subject: x509.Name) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(common name, why there is none, organizational units), in one pass over the RDNs.

    The common name is known only when the subject holds exactly one CN, in an RDN of its
    own, free of control characters; a CN in a multi-valued RDN anywhere wins over every
    other problem. OUs holding control characters are dropped.
    """
    found: list[str] = []
    ous: list[str] = []
    multivalued = False
    for rdn in subject.rdns:
        size = len(rdn)
        for attribute in rdn:
            oid = attribute.oid
            if oid == _CN:
                multivalued = multivalued or size > 1
                found.append(str(attribute.value))
            elif oid == _OU:
                value = str(attribute.value)
                if not has_control_characters(value):
                    ous.append(value)
    if multivalued:
        return None, "cn_in_multivalued_rdn", tuple(ous)
    if not found:
        return None, "no_cn", tuple(ous)
    if len(found) > 1:
        return None, "multiple_cn", tuple(ous)
    if has_control_characters(found[0]):
        return None, "cn_control_characters", tuple(ous)
    return found[0], None, tuple(ous)


_CN = NameOID.COMMON_NAME
_OU = NameOID.ORGANIZATIONAL_UNIT_NAME


def _sans(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(DNS names lowercased, emails, URIs) of the SubjectAlternativeName, in one pass;
    values holding control characters are dropped."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return (), (), ()
    dns: list[str] = []
    emails: list[str] = []
    uris: list[str] = []
    for name in ext:
        if isinstance(name, x509.DNSName):
            value, kept = name.value.lower(), dns
        elif isinstance(name, x509.RFC822Name):
            value, kept = name.value, emails
        elif isinstance(name, x509.UniformResourceIdentifier):
            value, kept = name.value, uris
        else:
            continue
        if not has_control_characters(value):
            kept.append(value)
    return tuple(dns), tuple(emails), tuple(uris)


def spki_sha256(cert: x509.Certificate, public_key: PublicKeyTypes | None = None) -> str:
    """SHA-256 of the certificate's SubjectPublicKeyInfo: a pin that survives renewal.

    ``public_key`` is ``cert.public_key()`` when the caller has loaded it already."""
    key = public_key if public_key is not None else cert.public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def identity_of(
    cert: x509.Certificate, *, public_key: PublicKeyTypes | None = None
) -> ClientIdentity:
    """Extract the :class:`ClientIdentity` of a certificate (call it on a verified leaf).

    ``public_key`` is ``cert.public_key()`` when the caller has loaded it already (the
    verifier's key check has). Every part is read once: cryptography builds a new ``Name``
    on each access to ``subject``.
    """
    subject = cert.subject
    common_name, problem, ous = _subject_names(subject)
    dns, emails, uris = _sans(cert)
    return ClientIdentity(
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        spki_sha256=spki_sha256(cert, public_key),
        subject=subject.rfc4514_string(),
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

    An unknown key type, a malformed or duplicate extension or an odd name makes cryptography
    raise on access (:data:`UNREADABLE`); such a certificate is described by nothing rather
    than breaking the caller.
    """
    try:
        return identity_of(cert)
    except UNREADABLE:
        return None
