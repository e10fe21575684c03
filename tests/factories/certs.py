"""Certificates and keys made at test time. Nothing here is ever committed as a file.

    root = make_ca("Acme Root")
    inter = make_ca("Acme Devices", issuer=root)
    leaf = make_leaf(inter, common_name="device-7")
    leaf.pem, leaf.der, leaf.key_pem, leaf.cert, leaf.key

Unusual shapes for adversarial tests are keyword arguments: ``subject=`` takes a whole
``x509.Name`` (two CNs, multi-valued RDNs, NUL bytes), ``signature_hash="sha1"`` re-signs
with SHA-1 or MD5 (which cryptography refuses to produce directly), ``ca=False`` makes a
non-CA, ``basic_constraints=False`` omits the extension.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeyType = Literal["ec", "rsa", "ec384"]
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH

_KEY_CACHE: dict[tuple[str, int], list] = {}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass
class Issued:
    """A certificate with its private key."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    chain: list[Issued] = field(default_factory=list)  # issuers above it, nearest first

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    @property
    def fingerprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()

    @property
    def common_name(self) -> str:
        return self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def new_key(key_type: KeyType = "ec", rsa_bits: int = 2048):
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


def name(common_name: str | None = None, **attrs: str) -> x509.Name:
    """A subject name from keyword attributes: name("device-7", O="Acme", OU="Fleet")."""
    oids = {
        "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "C": NameOID.COUNTRY_NAME,
        "L": NameOID.LOCALITY_NAME,
    }
    parts = [x509.NameAttribute(oids[k], v) for k, v in attrs.items()]
    if common_name is not None:
        parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(parts)


def _build(
    *,
    subject: x509.Name,
    issuer: Issued | None,
    key,
    not_before: dt.datetime | None,
    not_after: dt.datetime | None,
    extensions: list[tuple[x509.ExtensionType, bool]],
    signature_hash: str,
) -> x509.Certificate:
    start = not_before or now() - dt.timedelta(days=1)
    end = not_after or start + dt.timedelta(days=365)
    signer = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical)
    cert = builder.sign(signer, hashes.SHA256())
    if signature_hash != "sha256":
        cert = _resign(cert, signer, signature_hash)
    return cert


_OIDS = {
    "sha256": bytes.fromhex("06092a864886f70d01010b"),
    "sha1": bytes.fromhex("06092a864886f70d010105"),
    "md5": bytes.fromhex("06092a864886f70d010104"),
}


def _resign(cert: x509.Certificate, signer, algorithm: str) -> x509.Certificate:
    """Re-sign an RSA/SHA-256 certificate with SHA-1 or MD5, which cryptography won't build.

    The algorithm OIDs have the same length and an RSA signature's length depends on the key
    only, so swapping the OIDs and the signature bytes in place keeps every DER length valid.
    """
    if not isinstance(signer, rsa.RSAPrivateKey):
        raise ValueError("SHA-1/MD5 test certificates need an RSA issuer")
    der = cert.public_bytes(serialization.Encoding.DER).replace(_OIDS["sha256"], _OIDS[algorithm])
    tbs = cert.tbs_certificate_bytes.replace(_OIDS["sha256"], _OIDS[algorithm])
    digest = {"sha1": hashes.SHA1(), "md5": hashes.MD5()}[algorithm]  # noqa: S303
    signature = signer.sign(tbs, padding.PKCS1v15(), digest)
    assert len(signature) == len(cert.signature)
    return x509.load_der_x509_certificate(der[: -len(cert.signature)] + signature)


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
    key=None,
) -> Issued:
    """A CA certificate: self-signed root, or an intermediate when ``issuer`` is given."""
    key = key or new_key(key_type, rsa_bits)
    extensions: list[tuple[x509.ExtensionType, bool]] = []
    if basic_constraints:
        extensions.append(
            (x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), True)
        )
    extensions.append(
        (
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=key_cert_sign,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
    )
    cert = _build(
        subject=subject or name(common_name, O="accessctl tests"),
        issuer=issuer,
        key=key,
        not_before=not_before,
        not_after=not_after,
        extensions=extensions,
        signature_hash=signature_hash,
    )
    chain = [issuer, *issuer.chain] if issuer else []
    return Issued(cert, key, chain)


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
    key=None,
) -> Issued:
    """An end-entity certificate issued by ``issuer``; client auth EKU unless told otherwise."""
    key = key or new_key(key_type)
    extensions: list[tuple[x509.ExtensionType, bool]] = []
    if basic_constraints:
        extensions.append((x509.BasicConstraints(ca=ca, path_length=None), True))
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in san_dns]
    sans += [x509.RFC822Name(e) for e in san_emails]
    sans += [x509.UniformResourceIdentifier(u) for u in san_uris]
    if sans:
        extensions.append((x509.SubjectAlternativeName(sans), False))
    if eku:
        extensions.append((x509.ExtendedKeyUsage(list(eku)), False))
    if subject is None:
        subject = name(common_name, OU=ou) if ou else name(common_name)
    cert = _build(
        subject=subject,
        issuer=issuer,
        key=key,
        not_before=not_before,
        not_after=not_after,
        extensions=extensions,
        signature_hash="sha256",
    )
    return Issued(cert, key, [issuer, *issuer.chain])


def pem_bundle(*certs: Issued) -> str:
    """Concatenated PEM, as an operator would paste a chain."""
    return "".join(c.pem for c in certs)
