"""Revocation: CRLs checked against the CA that signed them, and a verified chain checked
against the CRLs and the operator's own revocations.

A CRL (:func:`validate_crl`) is accepted only when it is well formed, complete and direct, and
signed by one of the CA certificates it is uploaded for: its issuer name must be that CA's
subject and its signature must verify with that CA's key, which must be allowed to sign CRLs
(keyUsage cRLSign). Refused, each with a code and a message for the operator: anything that
does not parse as a CRL (PEM ``X509 CRL`` or DER), a CRL of another CA, a bad signature, a
broken signature algorithm (MD5, SHA-1), a delta CRL, an indirect CRL (entries for another
issuer's certificates: they could revoke, or fail to revoke, certificates this CA never
signed, so they are not supported), a CRL that covers only some revocation reasons, an
unknown critical extension, a CRL without ``nextUpdate``, one not yet valid, and one already
past its ``nextUpdate``.

On the request path (:func:`check_chain`), every certificate of a verified path, leaf first,
is looked up in the operator's revocations (by SHA-256 fingerprint and by serial number) and
in the CRL of the CA that issued it. A revoked leaf *or* intermediate refuses the request
(``certificate_revoked``). A CRL past its ``nextUpdate`` refuses it too (``crl_stale``), unless
the operator chose, for that CA, to accept with a warning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import SignatureAlgorithmOID

from accessctl.core.reasons import Reason

MAX_CRL_BYTES = 8 * 1024 * 1024
# A CRL dated this far ahead of our clock is accepted (clocks differ a little); no more.
CLOCK_SKEW = dt.timedelta(minutes=5)
_SIGNATURES = {
    SignatureAlgorithmOID.RSA_WITH_SHA256,
    SignatureAlgorithmOID.RSA_WITH_SHA384,
    SignatureAlgorithmOID.RSA_WITH_SHA512,
    SignatureAlgorithmOID.ECDSA_WITH_SHA256,
    SignatureAlgorithmOID.ECDSA_WITH_SHA384,
    SignatureAlgorithmOID.ECDSA_WITH_SHA512,
}
_KNOWN_EXTENSIONS = (
    x509.CRLNumber,
    x509.AuthorityKeyIdentifier,
    x509.IssuingDistributionPoint,
    x509.AuthorityInformationAccess,
    x509.IssuerAlternativeName,
    x509.FreshestCRL,
    x509.DeltaCRLIndicator,
)
_KNOWN_ENTRY_EXTENSIONS = (x509.CRLReason, x509.InvalidityDate, x509.CertificateIssuer)


class CrlError(Exception):
    """A CRL refused: ``code`` is stable, ``message`` is for the operator."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class CrlFacts:
    """An accepted CRL and the CA certificate (by fingerprint) that signed it."""

    issuer_fingerprint: str
    issuer: str  # RFC 4514, for display
    this_update: dt.datetime
    next_update: dt.datetime
    crl_number: int | None
    revoked: frozenset[int]  # serial numbers
    der: bytes


def normalize_serial(text: str) -> str:
    """A serial number as typed (``0A:1B``, ``0x0a1b``, ``A1B``) → ``a1b``, as stored and
    compared (lowercase hex without leading zeros, like ``format(serial, "x")``). Raises
    ``ValueError`` for anything else."""
    compact = text.strip().lower().replace(":", "").replace(" ", "").removeprefix("0x")
    if not compact or len(compact) > 40 or any(c not in "0123456789abcdef" for c in compact):
        raise ValueError("a serial number is 1 to 40 hexadecimal digits (colons allowed)")
    return format(int(compact, 16), "x")


def normalize_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as typed (``AB:CD:…``) → 64 lowercase hex digits; ``ValueError``
    otherwise."""
    compact = text.strip().lower().replace(":", "").replace(" ", "")
    if len(compact) != 64 or any(c not in "0123456789abcdef" for c in compact):
        raise ValueError("a SHA-256 fingerprint is 64 hexadecimal digits (colons allowed)")
    return compact


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    """A CRL from PEM (``-----BEGIN X509 CRL-----``) or DER; :class:`CrlError` otherwise."""
    if len(data) > MAX_CRL_BYTES:
        raise CrlError("too_large", f"a CRL is at most {MAX_CRL_BYTES // (1024 * 1024)} MiB")
    stripped = data.strip()
    if not stripped:
        raise CrlError("empty", "the file is empty")
    try:
        if stripped.startswith(b"-----BEGIN"):
            if b"-----BEGIN X509 CRL-----" not in stripped:
                kind = stripped.split(b"\n", 1)[0].decode("ascii", "replace")[:60]
                raise CrlError("not_a_crl", f"this is PEM but not a CRL ({kind})")
            return x509.load_pem_x509_crl(stripped)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise CrlError("malformed", f"not a readable CRL (PEM or DER): {str(exc)[:120]}") from None


def validate_crl(data: bytes, cas: Sequence[x509.Certificate], *, now: dt.datetime) -> CrlFacts:
    """Parse ``data`` and check it against ``cas`` (the certificates of one upload); return
    its facts or raise :class:`CrlError` (see the module doc for what is refused)."""
    crl = load_crl(data)
    try:
        return _validate(crl, cas, now)
    except ValueError as exc:  # cryptography parses lazily: a damaged field raises on access
        raise CrlError("malformed", f"the CRL is malformed: {str(exc)[:120]}") from None


def _validate(
    crl: x509.CertificateRevocationList, cas: Sequence[x509.Certificate], now: dt.datetime
) -> CrlFacts:
    issuer_name = _printable(crl.issuer.rfc4514_string())
    named = [ca for ca in cas if ca.subject == crl.issuer]
    if not named:
        subjects = "; ".join(_printable(ca.subject.rfc4514_string()) for ca in cas)
        raise CrlError(
            "wrong_ca",
            f"the CRL was issued by {issuer_name}, which is none of this upload's CA "
            f"certificates ({subjects})",
        )
    if crl.signature_algorithm_oid not in _SIGNATURES:
        raise CrlError(
            "weak_signature",
            "the CRL is signed with an algorithm that is broken or not supported "
            f"({crl.signature_algorithm_oid.dotted_string}); use SHA-256 or stronger",
        )
    signer = next((ca for ca in named if _signed_by(crl, ca)), None)
    if signer is None:
        raise CrlError(
            "bad_signature",
            f"the CRL's signature does not verify with the key of {issuer_name}",
        )
    _check_can_sign_crls(signer, issuer_name)
    _check_extensions(crl)
    next_update = crl.next_update_utc
    this_update = crl.last_update_utc
    if next_update is None:
        raise CrlError("no_next_update", "the CRL has no nextUpdate: it would never go stale")
    if next_update < this_update:
        raise CrlError("malformed", "the CRL's nextUpdate is before its thisUpdate")
    if this_update > now + CLOCK_SKEW:
        raise CrlError(
            "not_yet_valid", f"the CRL is dated in the future ({this_update:%Y-%m-%d %H:%M} UTC)"
        )
    if next_update <= now:
        raise CrlError(
            "expired",
            f"the CRL's nextUpdate ({next_update:%Y-%m-%d %H:%M} UTC) has passed: get a fresh "
            "one from the CA",
        )
    revoked = frozenset(entry.serial_number for entry in crl)
    return CrlFacts(
        issuer_fingerprint=signer.fingerprint(hashes.SHA256()).hex(),
        issuer=issuer_name,
        this_update=this_update,
        next_update=next_update,
        crl_number=_crl_number(crl),
        revoked=revoked,
        der=crl.public_bytes(Encoding.DER),
    )


def revoked_serials(der: bytes) -> frozenset[int]:
    """The serial numbers a stored (already accepted) CRL lists."""
    return frozenset(entry.serial_number for entry in x509.load_der_x509_crl(der))


def _signed_by(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    try:
        return crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _check_can_sign_crls(ca: x509.Certificate, name: str) -> None:
    try:
        usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return  # the trust store refuses CAs without keyUsage; nothing to add here
    if not usage.crl_sign:
        raise CrlError(
            "not_crl_signer",
            f"{name} may not sign CRLs (its keyUsage lacks cRLSign), so its CRLs are invalid",
        )


def _check_extensions(crl: x509.CertificateRevocationList) -> None:
    for ext in crl.extensions:
        value = ext.value
        if isinstance(value, x509.DeltaCRLIndicator):
            raise CrlError("delta_crl", "this is a delta CRL; upload the complete (base) CRL")
        if isinstance(value, x509.IssuingDistributionPoint):
            if value.indirect_crl:
                raise CrlError(
                    "indirect_crl",
                    "indirect CRLs (listing other issuers' certificates) are not supported; "
                    "upload the CRL the CA itself signs",
                )
            if value.only_some_reasons:
                raise CrlError(
                    "partial_crl",
                    "this CRL covers only some revocation reasons; upload the complete CRL",
                )
        if ext.critical and not isinstance(value, _KNOWN_EXTENSIONS):
            raise CrlError(
                "unsupported_extension",
                "the CRL has a critical extension accessctl does not know "
                f"({ext.oid.dotted_string})",
            )
    for entry in crl:
        for entry_ext in entry.extensions:
            if isinstance(entry_ext.value, x509.CertificateIssuer):
                raise CrlError(
                    "indirect_crl",
                    "the CRL names another certificate issuer in an entry (an indirect CRL), "
                    "which is not supported",
                )
            if entry_ext.critical and not isinstance(entry_ext.value, _KNOWN_ENTRY_EXTENSIONS):
                raise CrlError(
                    "unsupported_extension",
                    "a CRL entry has a critical extension accessctl does not know "
                    f"({entry_ext.oid.dotted_string})",
                )


def _crl_number(crl: x509.CertificateRevocationList) -> int | None:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return None


def _printable(text: str, limit: int = 120) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- The request path ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaCrl:
    """The current CRL of one CA certificate, as the request path sees it."""

    revoked: frozenset[int]
    this_update: dt.datetime
    next_update: dt.datetime
    accept_stale: bool  # past nextUpdate: accept with a warning (True) or refuse (False)
    label: str  # the CA's subject, for messages


@dataclass(frozen=True, slots=True)
class Revocations:
    """Everything revoked, by the CA fingerprint of each CRL, and the operator's own
    revocations (serial hex or fingerprint → why, for messages)."""

    crls: Mapping[str, CaCrl] = field(default_factory=dict)
    serials: Mapping[str, str] = field(default_factory=dict)
    fingerprints: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.crls or self.serials or self.fingerprints)


NO_REVOCATIONS = Revocations()


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One certificate of a verified path: its SHA-256 fingerprint and serial (lowercase
    hex). The next link of a path is its issuer."""

    fingerprint: str
    serial: str


@dataclass(frozen=True, slots=True)
class RevocationCheck:
    """What the revocation check said about a path.

    ``error`` is ``certificate_revoked`` or ``crl_stale`` when the path is refused;
    ``detail`` says which certificate and why; ``warnings`` name stale CRLs accepted by the
    operator's choice; ``checked`` describes each CRL consulted (for the policy tester);
    ``valid_until`` is the earliest ``nextUpdate`` of those CRLs still in the future, so a
    cached result never outlives the CRL it relied on.
    """

    error: Reason | None = None
    detail: str = ""
    warnings: tuple[str, ...] = ()
    checked: tuple[str, ...] = ()
    valid_until: dt.datetime | None = None


NOT_REVOKED = RevocationCheck()


def _role(index: int, length: int) -> str:
    if index == 0:
        return "leaf"
    return "root" if index == length - 1 else "intermediate"


def check_chain(
    links: Sequence[ChainLink], revocations: Revocations, *, now: dt.datetime
) -> RevocationCheck:
    """Check every certificate of a verified path (leaf first, root last) at ``now``."""
    if not revocations or not links:
        return NOT_REVOKED
    warnings: list[str] = []
    checked: list[str] = []
    valid_until: dt.datetime | None = None
    for index, link in enumerate(links):
        role = _role(index, len(links))
        why = revocations.fingerprints.get(link.fingerprint) or (
            revocations.serials.get(link.serial) if link.serial else None
        )
        if why is not None:
            return RevocationCheck(
                Reason.CERTIFICATE_REVOKED, f"{role} serial {link.serial} revoked: {why}"
            )
        if index + 1 >= len(links):
            break
        crl = revocations.crls.get(links[index + 1].fingerprint)
        if crl is None:
            continue
        if link.serial and int(link.serial, 16) in crl.revoked:
            return RevocationCheck(
                Reason.CERTIFICATE_REVOKED,
                f"{role} serial {link.serial} is on the CRL of {crl.label}",
            )
        stamp = (
            f"CRL of {crl.label} (updated {crl.this_update:%Y-%m-%d %H:%M} UTC, "
            f"next update {crl.next_update:%Y-%m-%d %H:%M} UTC)"
        )
        if now >= crl.next_update:
            if not crl.accept_stale:
                return RevocationCheck(
                    Reason.CRL_STALE,
                    f"the {stamp} is past its next update and was not refreshed; refused",
                )
            warnings.append(f"the {stamp} is past its next update; accepted by choice")
        else:
            valid_until = (
                crl.next_update if valid_until is None else min(valid_until, crl.next_update)
            )
        checked.append(f"{role}: not on the {stamp}")
    return RevocationCheck(None, "", tuple(warnings), tuple(checked), valid_until)
