"""Validation of an uploaded CA bundle, before anything is stored.

A bundle is a root and, optionally, intermediates below it (the whole chain, as Cloudflare
asks). It is accepted whole or refused whole: :func:`validate_ca_bundle` either returns the
facts of every certificate or raises one :class:`BundleError` naming the first certificate
that is wrong, as ``certificate #2 (CN=Foo): …``.

The rules mirror what the request-path verifier (``accessctl.core.verify``, built on
``cryptography.x509.verification`` with the WebPKI CA policy) will accept, so that a CA that
could never verify a client is refused at upload with a reason instead of silently failing
every request later. Checked against cryptography 50 (the oldest version pyproject.toml
allows):

- basicConstraints must be present, ``CA:TRUE`` and critical;
- keyUsage must be present with keyCertSign;
- extendedKeyUsage, if present, must allow clientAuth (or anyExtendedKeyUsage);
- keys: RSA of at least 2048 bits, ECDSA on P-256, P-384 or P-521 (no Ed25519, no secp256k1);
- signatures: RSA PKCS#1 v1.5 or ECDSA with SHA-256/384/512. SHA-1 and MD5 are refused even
  on a root, whose own signature the verifier never checks: a CA made that way is a CA made
  carelessly. RSASSA-PSS is refused too (the verifier accepts only some parameter sets).

Roots are self-signed; every other certificate is an intermediate and must be directly
issued (signature checked) by another certificate of the bundle, ending at a root of the
bundle. Roots become trust anchors; intermediates stay untrusted helpers (see verify.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID

from accessctl.core.identity import UNREADABLE, extension_name, short_text, unreadable_detail
from accessctl.core.keys import ACCEPTED_CURVES, ACCEPTED_KEYS, key_kind, key_problem
from accessctl.core.pem import BundleError, parse_pem_bundle
from accessctl.core.verify import ChainError, TrustAnchors, verify_client_chain

__all__ = [
    "BundleError",
    "CaFacts",
    "bundle_pem",
    "certificate_label",
    "short_fingerprint",
    "validate_ca_bundle",
]

_LABEL_MAX = 80
_E = TypeVar("_E", bound=x509.ExtensionType)

_SIGNATURE_NAMES = {
    SignatureAlgorithmOID.RSA_WITH_SHA256: "sha256WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA384: "sha384WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA512: "sha512WithRSAEncryption",
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ecdsa-with-SHA256",
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ecdsa-with-SHA384",
    SignatureAlgorithmOID.ECDSA_WITH_SHA512: "ecdsa-with-SHA512",
}
_BROKEN_SIGNATURES = {
    SignatureAlgorithmOID.RSA_WITH_MD5: "MD5",
    SignatureAlgorithmOID.RSA_WITH_SHA1: "SHA-1",
    SignatureAlgorithmOID._RSA_WITH_SHA1: "SHA-1",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "SHA-1",
    SignatureAlgorithmOID.DSA_WITH_SHA1: "SHA-1",
}
_CLIENT_EKUS = {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}


@dataclass(frozen=True, slots=True)
class CaFacts:
    """The facts of one accepted CA certificate, as stored and shown in the dashboard."""

    position: int  # 1-based order in the bundle as uploaded
    subject: str  # RFC 4514, for display only
    issuer: str  # RFC 4514, for display only
    serial_hex: str
    fingerprint_sha256: str  # lowercase hex of the DER
    not_before: dt.datetime
    not_after: dt.datetime
    key_type: str  # "RSA" or "ECDSA P-256" / "ECDSA P-384" / "ECDSA P-521"
    key_size: int  # bits
    signature_algorithm: str
    is_root: bool  # self-signed: a trust anchor; otherwise an intermediate
    der: bytes

    def to_pem(self) -> str:
        """The certificate alone, PEM-encoded."""
        cert = x509.load_der_x509_certificate(self.der)
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def bundle_pem(certificates: Sequence[CaFacts]) -> str:
    """The accepted certificates as one PEM bundle, in upload order.

    What is stored, rather than the text as pasted: comments between blocks are dropped, so
    nothing but certificates is ever persisted — not even a private key that lost its armour
    and therefore could not be recognised.
    """
    return "".join(facts.to_pem() for facts in certificates)


def short_fingerprint(fingerprint: str) -> str:
    """``ab:cd:ef:01:23:45:67:89…``: the first 8 bytes, enough to tell CAs apart at a glance."""
    return ":".join(fingerprint[i : i + 2] for i in range(0, 16, 2)) + "…"


def certificate_label(position: int, cert: x509.Certificate) -> str:
    """``certificate #2 (CN=Foo)``: how errors and the dashboard refer to a certificate."""
    try:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        name = f"CN={cns[0].value!s}" if cns else cert.subject.rfc4514_string() or "no subject"
    except UNREADABLE:
        name = "unreadable subject"
    # Names are attacker-controlled text: keep them short and printable in messages.
    name = "".join(ch if ch.isprintable() else "?" for ch in name)
    if len(name) > _LABEL_MAX:
        name = name[: _LABEL_MAX - 1] + "…"
    return f"certificate #{position} ({name})"


def validate_ca_bundle(
    text: str, *, now: dt.datetime, known_fingerprints: Collection[str] = ()
) -> list[CaFacts]:
    """Parse and check a CA bundle; return the facts of every certificate, in order.

    ``known_fingerprints`` are the SHA-256 fingerprints already in the trust store; when it is
    a mapping (fingerprint → name of the uploaded certificate holding it) the error says where
    the duplicate lives. Raises :class:`BundleError` on the first problem; nothing is partial.
    """
    certs = parse_pem_bundle(text)
    fingerprints = [c.fingerprint(hashes.SHA256()).hex() for c in certs]
    for index, cert in enumerate(certs):
        # First, so that nothing below reads a part of a certificate that cannot be read.
        _check_readable(certificate_label(index + 1, cert), cert)
    roots = [_is_self_signed(c) for c in certs]
    for index, cert in enumerate(certs):
        label = certificate_label(index + 1, cert)
        first = fingerprints.index(fingerprints[index])
        if first != index:
            raise BundleError(
                "duplicate_in_bundle", f"{label} is the same as certificate #{first + 1}"
            )
        _check_not_known(label, fingerprints[index], known_fingerprints)
        _check_is_ca(label, cert)
        _check_extensions_supported(label, cert)
        _check_signature_algorithm(label, cert)
        _check_key(label, cert)
        _check_validity(label, cert, now)
    issuers = _check_chains(certs, roots)
    _check_path_lengths(certs, issuers)
    _check_verifies(certs, issuers, now)
    facts = []
    for index, cert in enumerate(certs):
        key_type, key_size = _key_facts(cert)
        facts.append(
            CaFacts(
                position=index + 1,
                subject=cert.subject.rfc4514_string(),
                issuer=cert.issuer.rfc4514_string(),
                serial_hex=format(cert.serial_number, "x"),
                fingerprint_sha256=fingerprints[index],
                not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc,
                key_type=key_type,
                key_size=key_size,
                signature_algorithm=_SIGNATURE_NAMES[cert.signature_algorithm_oid],
                is_root=roots[index],
                der=cert.public_bytes(serialization.Encoding.DER),
            )
        )
    return facts


def _check_not_known(label: str, fingerprint: str, known: Collection[str]) -> None:
    if fingerprint not in known:
        return
    where = f" in {known[fingerprint]!r}" if isinstance(known, Mapping) else ""
    raise BundleError(
        "already_uploaded",
        f"{label} is already uploaded{where} (SHA-256 {fingerprint[:16]}…); a CA can be "
        "uploaded once — add hostnames to the existing one instead",
    )


def _check_readable(label: str, cert: x509.Certificate) -> None:
    """Every part a later check, the dashboard or the verifier reads must be readable:
    cryptography parses lazily and raises on the first access to a malformed part."""
    try:
        cert.extensions  # noqa: B018 -- parsed once (cryptography keeps the result)
    except x509.DuplicateExtension as exc:
        raise BundleError(
            "duplicate_extension",
            f"{label} has the {extension_name(exc.oid)} extension twice; a certificate may "
            "carry each extension once (RFC 5280): re-issue it",
        ) from None
    except UNREADABLE as exc:
        raise BundleError(
            "bad_extension",
            f"{label}: its extensions cannot be read ({unreadable_detail(exc)}); re-issue it "
            "with well-formed extensions",
        ) from None
    try:
        cert.subject.rfc4514_string()
        cert.issuer.rfc4514_string()
    except UNREADABLE as exc:
        raise BundleError(
            "bad_name", f"{label}: its subject or issuer cannot be read ({unreadable_detail(exc)})"
        ) from None
    try:
        cert.public_key()
    except UNREADABLE:
        raise BundleError(
            "unsupported_key",
            f"{label} has a public key of a type the verifier cannot use (use {ACCEPTED_KEYS})",
        ) from None


# General names the verifier can match a name constraint against (RFC 5280 4.2.1.10); any other
# kind makes it refuse every client under the CA (a critical extension) or every client that
# carries such a name.
_CONSTRAINT_KINDS: dict[type[x509.GeneralName], str] = {
    x509.DNSName: "dNSName",
    x509.IPAddress: "iPAddress",
    x509.RFC822Name: "rfc822Name",
}


def _check_extensions_supported(label: str, cert: x509.Certificate) -> None:
    """Extensions the verifier always refuses in a CA, refused at upload with the reason."""
    for ext in cert.extensions:
        if ext.critical and isinstance(ext.value, x509.UnrecognizedExtension):
            raise BundleError(
                "unknown_critical_extension",
                f"{label} has a critical extension the verifier does not know "
                f"({ext.oid.dotted_string}), so it would refuse every client certificate "
                "under it",
            )
    constraints = _extension(cert, x509.NameConstraints)
    if constraints is None:
        return
    names = [
        *(constraints.value.permitted_subtrees or ()),
        *(constraints.value.excluded_subtrees or ()),
    ]
    for name in names:
        if type(name) not in _CONSTRAINT_KINDS:
            kind = _GENERAL_NAME_KINDS.get(type(name), type(name).__name__)
            raise BundleError(
                "unsupported_name_constraint",
                f"{label}: its name constraints include a {kind} constraint, which the "
                "verifier does not support (only dNSName, iPAddress and rfc822Name), so "
                "client certificates under it would be refused; re-issue it without",
            )


_GENERAL_NAME_KINDS: dict[type[x509.GeneralName], str] = {
    x509.DirectoryName: "directoryName",
    x509.UniformResourceIdentifier: "uniformResourceIdentifier",
    x509.RegisteredID: "registeredID",
    x509.OtherName: "otherName",
}


def _check_verifies(
    certs: Sequence[x509.Certificate], issuers: Sequence[int | None], now: dt.datetime
) -> None:
    """Ask the verifier itself whether any client certificate under each CA could verify.

    The CA's private key is not here, so each certificate of the bundle is copied byte for
    byte with a throwaway key in place of its own (subject, issuer, extensions, validity
    untouched), every copy signed by the copy of its issuer; then a minimal client
    certificate (a CN, clientAuth) is issued under each copy and verified at ``now`` with the
    request path's own policy. A refusal there is a refusal of every client: the CA's own
    key and signature algorithm, which the copies do not carry, are checked by the rules
    above. Roots first, so that the message names the certificate at fault.
    """
    order = sorted(range(len(certs)), key=lambda i: _depth(issuers, i))
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in certs]
    copies: dict[int, x509.Certificate] = {}
    for index in order:
        parent = issuers[index]
        signer = keys[index if parent is None else parent]
        copies[index] = _copy_with_key(certs[index], keys[index], signer)
    roots = [copies[i] for i in order if issuers[i] is None]
    intermediates = [copies[i] for i in order if issuers[i] is not None]
    anchors = TrustAnchors.build(roots, [])
    for index in order:
        leaf = _probe_leaf(certs[index], keys[index], now)
        try:
            verify_client_chain(leaf, intermediates, anchors, now=now, max_depth=len(certs))
        except ChainError as exc:
            why = exc.detail.removeprefix("validation failed: ").removeprefix(
                "candidates exhausted: "
            )
            raise BundleError(
                "never_verifies",
                f"{certificate_label(index + 1, certs[index])}: the verifier would refuse every "
                f"client certificate under it ({short_text(why, 160)})",
            ) from None


def _depth(issuers: Sequence[int | None], index: int) -> int:
    depth, parent = 0, issuers[index]
    while parent is not None:
        depth, parent = depth + 1, issuers[parent]
    return depth


_ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")


def _copy_with_key(
    cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, signer: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    """``cert`` with ``key``'s public key, signed by ``signer`` (ECDSA P-256, SHA-256)."""
    items = _der_children(cert.tbs_certificate_bytes)
    version = 1 if items[0][0] == 0xA0 else 0  # [0] EXPLICIT version, absent in v1
    items[version + 1] = _ECDSA_SHA256
    items[version + 5] = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _signed(items, signer)


def _probe_leaf(
    issuer: x509.Certificate, issuer_key: ec.EllipticCurvePrivateKey, now: dt.datetime
) -> x509.Certificate:
    """The plainest client certificate ``issuer`` could issue, its issuer name copied as
    bytes from ``issuer``'s subject (a re-encoded name might not match)."""
    key = ec.generate_private_key(ec.SECP256R1())
    ski = _extension(issuer, x509.SubjectKeyIdentifier)
    aki = (
        x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)
        if ski is not None
        else x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())
    )
    probe = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "upload check")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "upload check")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(minutes=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(aki, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    items = _der_children(probe.tbs_certificate_bytes)
    version = 1 if items[0][0] == 0xA0 else 0
    issuer_items = _der_children(issuer.tbs_certificate_bytes)
    issuer_version = 1 if issuer_items[0][0] == 0xA0 else 0
    items[version + 2] = issuer_items[issuer_version + 4]  # issuer := the CA's subject
    return _signed(items, issuer_key)


def _signed(tbs_items: list[bytes], signer: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    tbs = _der(0x30, b"".join(tbs_items))
    signature = signer.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return x509.load_der_x509_certificate(
        _der(0x30, tbs + _ECDSA_SHA256 + _der(0x03, b"\x00" + signature))
    )


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(body)]) + body + content


def _der_children(data: bytes) -> list[bytes]:
    """The TLVs directly inside the DER SEQUENCE ``data`` (which cryptography has parsed)."""

    def element(offset: int) -> tuple[int, int]:
        first = data[offset + 1]
        if first < 0x80:
            return offset + 2, offset + 2 + first
        count = first & 0x7F
        start = offset + 2 + count
        return start, start + int.from_bytes(data[offset + 2 : start], "big")

    start, end = element(0)
    items, offset = [], start
    while offset < end:
        _, item_end = element(offset)
        items.append(data[offset:item_end])
        offset = item_end
    return items


def _extension(cert: x509.Certificate, kind: type[_E]) -> x509.Extension[_E] | None:
    try:
        return cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def _looks_like_server_certificate(cert: x509.Certificate) -> bool:
    eku = _extension(cert, x509.ExtendedKeyUsage)
    if eku is not None and ExtendedKeyUsageOID.SERVER_AUTH in eku.value:
        return True
    san = _extension(cert, x509.SubjectAlternativeName)
    return san is not None and bool(san.value.get_values_for_type(x509.DNSName))


def _check_is_ca(label: str, cert: x509.Certificate) -> None:
    bc = _extension(cert, x509.BasicConstraints)
    is_ca = bc is not None and bc.value.ca
    if not is_ca and _looks_like_server_certificate(cert):
        raise BundleError(
            "server_certificate",
            f"{label} is a server certificate, not a CA: upload the CA that issues your "
            "client certificates instead",
        )
    if not is_ca and bc is not None:
        raise BundleError(
            "leaf_certificate",
            f"{label} is a leaf (end-entity) certificate with CA:FALSE, not a CA: upload the "
            "CA that issued it",
        )
    if bc is None:
        raise BundleError(
            "not_ca",
            f"{label} is not a CA: it has no basicConstraints extension (CA:TRUE is required)",
        )
    if not bc.critical:
        raise BundleError(
            "not_ca",
            f"{label}: its basicConstraints extension is not marked critical, so the "
            "verifier would refuse every client it issued",
        )
    ku = _extension(cert, x509.KeyUsage)
    if ku is None:
        raise BundleError(
            "key_usage",
            f"{label} has no keyUsage extension; a CA needs keyUsage with keyCertSign",
        )
    if not ku.value.key_cert_sign:
        raise BundleError(
            "key_usage",
            f"{label}: its keyUsage does not include keyCertSign, so it may not sign certificates",
        )
    eku = _extension(cert, x509.ExtendedKeyUsage)
    if eku is not None and not _CLIENT_EKUS.intersection(eku.value):
        raise BundleError(
            "eku_not_client_auth",
            f"{label}: its extendedKeyUsage does not allow client authentication "
            "(clientAuth), so no client certificate under it can be accepted",
        )


def _check_signature_algorithm(label: str, cert: x509.Certificate) -> None:
    oid = cert.signature_algorithm_oid
    if oid in _BROKEN_SIGNATURES:
        raise BundleError(
            "weak_signature",
            f"{label} is signed with {_BROKEN_SIGNATURES[oid]}, which is broken; re-issue "
            "it with SHA-256 or stronger",
        )
    if oid not in _SIGNATURE_NAMES:
        raise BundleError(
            "unsupported_signature",
            f"{label} uses the signature algorithm {oid.dotted_string}, which is not "
            "supported (use RSA or ECDSA with SHA-256, SHA-384 or SHA-512)",
        )


def _check_key(label: str, cert: x509.Certificate) -> None:
    """The key rules of :mod:`accessctl.core.keys`, which client leaves follow too."""
    key = cert.public_key()  # readable: _check_readable loaded it
    problem = key_problem(key)
    if problem is None:
        return
    if isinstance(key, rsa.RSAPublicKey):
        raise BundleError("weak_key", f"{label} has {problem}")
    raise BundleError(
        "unsupported_key",
        f"{label} has a {key_kind(key)} key, which the verifier cannot use (use {ACCEPTED_KEYS})",
    )


def _check_validity(label: str, cert: x509.Certificate, now: dt.datetime) -> None:
    if now > cert.not_valid_after_utc:
        raise BundleError(
            "expired", f"{label} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        )
    if now < cert.not_valid_before_utc:
        raise BundleError(
            "not_yet_valid",
            f"{label} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
        )


def _directly_issued(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """One signature check (no path validation): did ``issuer``'s key sign ``cert``?"""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject and _directly_issued(cert, cert)


def _check_chains(certs: Sequence[x509.Certificate], roots: Sequence[bool]) -> list[int | None]:
    """Index of each certificate's issuer in the bundle (None for roots); every path must end
    at a root of the bundle."""
    issuers: list[int | None] = []
    for index, cert in enumerate(certs):
        if roots[index]:
            issuers.append(None)
            continue
        found = next(
            (
                i
                for i, candidate in enumerate(certs)
                if i != index and _directly_issued(cert, candidate)
            ),
            None,
        )
        if found is None:
            label = certificate_label(index + 1, cert)
            if cert.issuer == cert.subject:
                raise BundleError(
                    "bad_signature",
                    f"{label} claims to be self-signed but its signature does not verify",
                )
            raise BundleError(
                "issuer_missing",
                f"{label} is an intermediate, but its issuer "
                f"({_short(cert.issuer.rfc4514_string())}) is not in the bundle (or did not "
                "sign it): upload the whole chain up to its root",
            )
        issuers.append(found)
    for index, cert in enumerate(certs):
        seen = {index}
        parent = issuers[index]
        while parent is not None:
            if parent in seen:
                raise BundleError(
                    "issuer_missing",
                    f"{certificate_label(index + 1, cert)} does not chain to a root: its "
                    "issuers sign each other in a loop; include the self-signed root",
                )
            seen.add(parent)
            parent = issuers[parent]
    return issuers


def _check_path_lengths(certs: Sequence[x509.Certificate], issuers: Sequence[int | None]) -> None:
    """A CA with pathLenConstraint n allows at most n intermediates below it; an uploaded
    intermediate that breaks its ancestor's limit could never verify a client."""
    for index, cert in enumerate(certs):
        below, parent = 1, issuers[index]
        while parent is not None:
            bc = _extension(certs[parent], x509.BasicConstraints)
            limit = bc.value.path_length if bc is not None else None
            if limit is not None and below > limit:
                raise BundleError(
                    "path_length",
                    f"{certificate_label(index + 1, cert)} is below "
                    f"{certificate_label(parent + 1, certs[parent])}, whose pathLenConstraint "
                    f"({limit}) allows only {limit} intermediate(s) under it",
                )
            below, parent = below + 1, issuers[parent]


def _short(text: str) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= _LABEL_MAX else text[: _LABEL_MAX - 1] + "…"


def _key_facts(cert: x509.Certificate) -> tuple[str, int]:
    """("RSA", 2048) or ("ECDSA P-256", 256), for a key :func:`_check_key` accepted."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {ACCEPTED_CURVES[key.curve.name]}", key.key_size
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    raise BundleError("unsupported_key", "unreachable: the key type was checked")
