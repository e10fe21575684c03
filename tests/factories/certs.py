"""Certificates and keys made at test time. Nothing here is ever committed as a file.

    root = make_ca("Acme Root")
    inter = make_ca("Acme Devices", issuer=root)
    leaf = make_leaf(inter, common_name="device-7")
    leaf.pem, leaf.der, leaf.key_pem, leaf.cert, leaf.key, leaf.chain

Both are the product's one certificate builder (:func:`accessctl.core.issuing.issue`, which
returns its :class:`~accessctl.core.issuing.Issued`) with test defaults: valid from a day ago
for a year, an ``O=accessctl tests`` CA subject, a client-auth leaf, RSA keys from a small
pool. Unusual shapes for adversarial tests are keyword arguments: ``subject=`` takes a whole
``x509.Name`` (two CNs, multi-valued RDNs, NUL bytes), ``signature_hash="sha1"`` re-signs
with SHA-1 or MD5 (which cryptography refuses to produce directly), ``ca=False`` makes a
non-CA, ``basic_constraints=False`` omits the extension. Shapes beyond these go to
:func:`issue` itself (its ``extensions``, ``signature_hash`` and ``rsa_padding``).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    PrivateKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID

from accessctl.core.issuing import Issued, issue, subject_name
from tests.factories import der

KeyType = Literal["ec", "rsa", "ec384"]
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH

_KEY_CACHE: dict[tuple[str, int], list[rsa.RSAPrivateKey]] = {}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def new_key(key_type: KeyType = "ec", rsa_bits: int = 2048) -> CertificateIssuerPrivateKeyTypes:
    """A fresh private key. RSA generation is slow, so test runs reuse a small pool."""
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    pool = _KEY_CACHE.setdefault(("rsa", rsa_bits), [])
    if len(pool) < 4:
        pool.append(rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits))
        return pool[-1]
    pool.insert(0, pool.pop())
    return pool[0]


def _validity(not_before: dt.datetime | None, not_after: dt.datetime | None) -> dict:
    """From a day ago (or ``not_before``) for a year (or to ``not_after``)."""
    start = not_before or now() - dt.timedelta(days=1)
    return {"not_before": start, "not_after": not_after or start + dt.timedelta(days=365)}


_OIDS = {
    "sha256": bytes.fromhex("06092a864886f70d01010b"),
    "sha1": bytes.fromhex("06092a864886f70d010105"),
    "md5": bytes.fromhex("06092a864886f70d010104"),
}


def _resign(issued: Issued, signer: CertificateIssuerPrivateKeyTypes, algorithm: str) -> Issued:
    """Re-sign an RSA/SHA-256 certificate with SHA-1 or MD5, which cryptography won't build.

    The algorithm OIDs have the same length and an RSA signature's length depends on the key
    only, so swapping the OIDs and the signature bytes in place keeps every DER length valid.
    """
    if not isinstance(signer, rsa.RSAPrivateKey):
        raise ValueError("SHA-1/MD5 test certificates need an RSA issuer")
    cert = issued.cert
    der = cert.public_bytes(serialization.Encoding.DER).replace(_OIDS["sha256"], _OIDS[algorithm])
    tbs = cert.tbs_certificate_bytes.replace(_OIDS["sha256"], _OIDS[algorithm])
    digest = {"sha1": hashes.SHA1(), "md5": hashes.MD5()}[algorithm]  # noqa: S303
    signature = signer.sign(tbs, padding.PKCS1v15(), digest)
    assert len(signature) == len(cert.signature)
    resigned = x509.load_der_x509_certificate(der[: -len(cert.signature)] + signature)
    return dataclasses.replace(issued, cert=resigned)


def make_ca(
    common_name: str = "Test Root CA",
    *,
    issuer: Issued | None = None,
    key_type: KeyType = "ec",
    rsa_bits: int = 2048,
    subject: x509.Name | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    ca: bool = True,
    basic_constraints: bool = True,
    path_length: int | None = None,
    key_cert_sign: bool = True,
    signature_hash: str = "sha256",
    key: CertificateIssuerPrivateKeyTypes | None = None,
) -> Issued:
    """A CA certificate: self-signed root, or an intermediate when ``issuer`` is given."""
    issued = issue(
        subject or subject_name(common_name, O="accessctl tests"),
        issuer=issuer,
        key=key or new_key(key_type, rsa_bits),
        **_validity(not_before, not_after),
        ca=ca,
        path_length=path_length,
        basic_constraints=basic_constraints,
        key_cert_sign=key_cert_sign,
    )
    if signature_hash == "sha256":
        return issued
    return _resign(issued, issuer.key if issuer else issued.key, signature_hash)


def make_leaf(
    issuer: Issued,
    common_name: str | None = "device-1",
    *,
    subject: x509.Name | None = None,
    key_type: KeyType = "ec",
    san_dns: tuple[str, ...] = (),
    san_emails: tuple[str, ...] = (),
    san_uris: tuple[str, ...] = (),
    ou: str | None = None,
    eku: tuple[x509.ObjectIdentifier, ...] | None = (CLIENT_AUTH,),
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    ca: bool = False,
    basic_constraints: bool = True,
    key: CertificateIssuerPrivateKeyTypes | None = None,
) -> Issued:
    """An end-entity certificate issued by ``issuer``; client auth EKU unless told otherwise."""
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in san_dns]
    sans += [x509.RFC822Name(e) for e in san_emails]
    sans += [x509.UniformResourceIdentifier(u) for u in san_uris]
    if subject is None:
        subject = subject_name(common_name, OU=ou) if ou else subject_name(common_name)
    return issue(
        subject,
        issuer=issuer,
        key=key or new_key(key_type),
        **_validity(not_before, not_after),
        ca=ca,
        basic_constraints=basic_constraints,
        extended_key_usage=eku or (),
        subject_alt_names=sans,
    )


_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")  # OID 1.2.840.10045.2.1
_UNKNOWN_KEY = bytes.fromhex("06072a030405060708")  # OID 1.2.3.4.5.6.7.8, same length
_ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")


def with_unknown_key_type(data: bytes) -> bytes:
    """An EC certificate (or its TBS part) with a public key algorithm nobody knows: the OIDs
    have the same length, so the DER stays well formed; a signature over it no longer holds."""
    return data.replace(_EC_PUBLIC_KEY, _UNKNOWN_KEY)


def unknown_key_leaf(issuer: Issued) -> bytes:
    """The DER of a leaf whose public key algorithm nobody knows, properly signed by the EC
    ``issuer`` (cryptography parses it but cannot load its key)."""
    tbs = with_unknown_key_type(make_leaf(issuer).cert.tbs_certificate_bytes)
    return _signed(tbs, issuer.key)


def _signed(tbs: bytes, signer: CertificateIssuerPrivateKeyTypes) -> bytes:
    """A Certificate from its TBS part, signed by ``signer`` with SHA-256 (ECDSA, or RSA
    PKCS#1 v1.5): the algorithm written in the TBS part must be the signer's."""
    if isinstance(signer, ec.EllipticCurvePrivateKey):
        signature, algorithm = signer.sign(tbs, ec.ECDSA(hashes.SHA256())), _ECDSA_SHA256
    elif isinstance(signer, rsa.RSAPrivateKey):
        signature = signer.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
        algorithm = der.seq(_OIDS["sha256"], b"\x05\x00")
    else:
        raise ValueError("raw test certificates are signed with EC or RSA keys")
    return der.seq(tbs, algorithm, der.tlv(der.BIT_STRING, b"\x00" + signature))


def raw_extensions(issued: Issued) -> list[bytes]:
    """The DER of each extension of ``issued``, in order: to keep, drop or repeat."""
    for item in der.children(issued.cert.tbs_certificate_bytes):
        if item[0] == der.EXTENSIONS_TAG:
            return der.children(der.children(item)[0])
    return []


def with_raw_extensions(
    issued: Issued, extensions: list[bytes], *, signer: Issued | None = None
) -> Issued:
    """``issued`` with exactly ``extensions`` (each an Extension's DER, see
    :mod:`tests.factories.der`), re-signed by its issuer (``signer``, by default the one
    that issued it, or itself when self-signed), so that only the extensions are wrong.

    For the shapes cryptography's builder refuses: an extension twice, a name constraint that
    is not a network, an authority key identifier with an issuer but no serial, a truncated or
    mis-tagged value, an unknown critical OID. cryptography reads extensions lazily: loading
    the result works, reading its extensions may raise (which is the point).
    """
    return dataclasses.replace(
        issued, cert=x509.load_der_x509_certificate(raw_der(issued, extensions, signer=signer))
    )


def raw_der(
    issued: Issued,
    extensions: list[bytes],
    *,
    signer: Issued | None = None,
    subject: bytes | None = None,
) -> bytes:
    """The DER :func:`with_raw_extensions` loads: for extensions so broken that cryptography
    refuses even to load the certificate (a truncated extension, a wrong tag). ``subject``
    replaces the subject Name with any bytes (odd string types, empty RDNs…)."""
    signer = signer or (issued.chain[0] if issued.chain else issued)
    items = der.children(issued.cert.tbs_certificate_bytes)
    if subject is not None:
        items[5 if items[0][0] == 0xA0 else 4] = subject  # after [0] version, serial, alg…
    items = [item for item in items if item[0] != der.EXTENSIONS_TAG]
    if extensions:
        items.append(der.tlv(der.EXTENSIONS_TAG, der.seq(*extensions)))
    return _signed(der.seq(*items), signer.key)


def pem_of(data: bytes) -> str:
    """PEM armour around any DER, however broken (``Issued.pem`` needs a loadable one)."""
    body = base64.b64encode(data).decode("ascii")
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


def pem_bundle(*certs: Issued) -> str:
    """Concatenated PEM, as an operator would paste a chain."""
    return "".join(c.pem for c in certs)


@dataclasses.dataclass(frozen=True)
class Crl:
    """A CRL made by :func:`make_crl`, with its encodings."""

    crl: x509.CertificateRevocationList

    @property
    def der(self) -> bytes:
        return self.crl.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.crl.public_bytes(serialization.Encoding.PEM)


def make_crl(
    issuer: Issued,
    revoked: tuple[Issued | int, ...] = (),
    *,
    this_update: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
    crl_number: int | None = 1,
    signer: CertificateIssuerPrivateKeyTypes | None = None,
    issuer_name: x509.Name | None = None,
    extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
    entry_extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> Crl:
    """A CRL of ``issuer`` revoking ``revoked`` (certificates or serial numbers), through
    cryptography's ``CertificateRevocationListBuilder``: updated an hour ago, next update in a
    week, unless told otherwise. ``signer`` signs with another key (a bad signature),
    ``issuer_name`` names another issuer; ``extensions`` (value, critical) are added to the
    CRL, ``entry_extensions`` to every entry (an indirect CRL's ``CertificateIssuer``)."""
    start = this_update or now() - dt.timedelta(hours=1)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_name or issuer.cert.subject)
        .last_update(start)
        .next_update(next_update or start + dt.timedelta(days=7))
    )
    if crl_number is not None:
        builder = builder.add_extension(x509.CRLNumber(crl_number), critical=False)
    for value, critical in extensions:
        builder = builder.add_extension(value, critical=critical)
    for item in revoked:
        serial = item if isinstance(item, int) else item.cert.serial_number
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(start - dt.timedelta(minutes=5))
        )
        for value, critical in entry_extensions:
            entry = entry.add_extension(value, critical=critical)
        builder = builder.add_revoked_certificate(entry.build())
    return Crl(builder.sign(signer or issuer.key, hashes.SHA256()))


# --- Named broken shapes (issue 15): each one crashed an entry point once -----------------


def with_extra_extensions(issued: Issued, *extensions: bytes) -> Issued:
    """``issued`` with ``extensions`` (DER) appended to its own, re-signed by its issuer."""
    return with_raw_extensions(issued, [*raw_extensions(issued), *extensions])


def with_extension_twice(issued: Issued, extn_id: str) -> Issued:
    """``issued`` with its extension ``extn_id`` (dotted OID) present twice."""
    own = raw_extensions(issued)
    (repeated,) = [e for e in own if der.children(e)[0] == der.oid(extn_id)]
    return with_raw_extensions(issued, [*own, repeated])


def name_constrained_ca(common_name: str, *constraints: bytes, critical: bool = True) -> Issued:
    """A root whose nameConstraints permit exactly ``constraints`` (general names' DER)."""
    value = der.name_constraints(permitted=constraints)
    return with_extra_extensions(
        make_ca(common_name), der.extension(der.NAME_CONSTRAINTS, value, critical=critical)
    )


def wildcard_dns_constrained_ca(common_name: str = "Wildcard NC Root") -> Issued:
    """A DNS name constraint of ``*``: cryptography refuses to load the extension."""
    return name_constrained_ca(common_name, der.dns_name("*"))


def host_ip_constrained_ca(common_name: str = "Host IP NC Root") -> Issued:
    """An IP constraint 10.0.0.1/255.0.0.0: host bits set, so not a network."""
    return name_constrained_ca(common_name, der.ip_constraint(bytes([10, 0, 0, 1, 255, 0, 0, 0])))


def directory_name_constrained_ca(common_name: str = "DirName NC Root") -> Issued:
    """A directoryName constraint (O=Acme), which the verifier does not support."""
    return name_constrained_ca(common_name, der.directory_name(der.rdn_name(("2.5.4.10", "Acme"))))


def half_aki(issued: Issued) -> Issued:
    """``issued`` with an authority key identifier naming an issuer but no serial (RFC 5280
    wants both or neither): cryptography refuses to load the extension."""
    issuer_name = der.directory_name(der.rdn_name(("2.5.4.3", "Somebody")))
    value = der.seq(der.context(0, b"\x01" * 20), der.context(1, issuer_name, constructed=True))
    own = [
        e
        for e in raw_extensions(issued)
        if der.children(e)[0] != der.oid(der.AUTHORITY_KEY_IDENTIFIER)
    ]
    return with_raw_extensions(issued, [*own, der.extension(der.AUTHORITY_KEY_IDENTIFIER, value)])


WEAK_KEYS = ("RSA 1024", "RSA 2047", "DSA", "P-192", "secp256k1", "Ed25519")


def weak_key(kind: str) -> PrivateKeyTypes:
    """A private key the client key policy refuses (one of :data:`WEAK_KEYS`): what the tests
    of that policy put in a leaf. Deliberately weak, hence the lint exemptions."""
    if kind.startswith("RSA "):
        return rsa.generate_private_key(65537, int(kind.removeprefix("RSA ")))
    makers = {
        "DSA": lambda: dsa.generate_private_key(1024),  # noqa: S505 -- the point of the test
        "P-192": lambda: ec.generate_private_key(ec.SECP192R1()),
        "secp256k1": lambda: ec.generate_private_key(ec.SECP256K1()),
        "Ed25519": ed25519.Ed25519PrivateKey.generate,
    }
    return makers[kind]()
