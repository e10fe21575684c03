"""Making X.509 certificates: the one certificate builder of the project.

Three users need certificates made on the spot: ``accessctl demo`` (a throwaway client CA, a
client certificate and a server certificate), the signing keys (the self-signed
``public_cert`` published beside each JWK) and the tests (``tests/factories/certs.py``, which
adds the odd shapes an adversarial test needs on top of this). All of them call
:func:`issue`, so a certificate the demo hands out has the shape the tests verify.

Profiles follow what the verifier (``accessctl.core.verify``) and the upload rules
(``accessctl.core.truststore``) expect: a CA gets a critical ``basicConstraints CA:TRUE`` and a
critical ``keyUsage`` with ``keyCertSign``; every certificate gets a subject key identifier,
and one issued by another an authority key identifier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.base import _AllowedHashTypes
from cryptography.x509.oid import NameOID

DEFAULT_LIFETIME = dt.timedelta(days=365)
# Certificates start a little in the past, so a peer whose clock runs behind accepts them.
BACKDATE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key, and the issuers above it (nearest first)."""

    cert: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes
    chain: tuple[Issued, ...] = ()

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self) -> str:
        """The private key, PKCS#8 PEM, unencrypted: for throwaway keys only."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER, lowercase hex."""
        return self.cert.fingerprint(hashes.SHA256()).hex()

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """``<stem>.pem`` and ``<stem>.key`` (mode 0600) in ``directory``."""
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
        cert_path.write_text(self.pem)
        key_path.touch(mode=0o600)
        key_path.write_text(self.key_pem)
        return cert_path, key_path


def subject_name(common_name: str | None = None, **attributes: str) -> x509.Name:
    """A name from a CN and short attribute names: ``subject_name("device-7", O="Acme")``.

    Known attributes: ``O``, ``OU``, ``C``, ``L``; the CN comes last, as ``openssl`` writes it.
    """
    oids = {
        "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "C": NameOID.COUNTRY_NAME,
        "L": NameOID.LOCALITY_NAME,
    }
    parts = [x509.NameAttribute(oids[name], value) for name, value in attributes.items()]
    if common_name is not None:
        parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(parts)


def issue(
    subject: x509.Name,
    *,
    issuer: Issued | None = None,
    key: CertificateIssuerPrivateKeyTypes | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    ca: bool = False,
    path_length: int | None = None,
    basic_constraints: bool = True,
    key_cert_sign: bool = True,
    extended_key_usage: Sequence[x509.ObjectIdentifier] = (),
    subject_alt_names: Sequence[x509.GeneralName] = (),
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
    signature_hash: _AllowedHashTypes | None = None,
    rsa_padding: padding.PSS | padding.PKCS1v15 | None = None,
) -> Issued:
    """A certificate for ``subject``, signed by ``issuer`` (self-signed when None).

    ``key`` is the subject's private key (a new EC P-256 key by default). Valid from
    ``not_before`` (default: :data:`BACKDATE` ago) to ``not_after`` (default: a year later).
    ``ca`` makes a CA (with ``path_length`` and, unless ``key_cert_sign`` is False, the right
    to sign certificates); ``basic_constraints=False`` leaves that extension out altogether.
    ``extensions`` are added last, as given (``(extension, critical)`` pairs). Signed with
    ``signature_hash`` (SHA-256 by default; ECDSA or RSA by the signer's key, RSA with
    ``rsa_padding``, PKCS#1 v1.5 by default; EdDSA takes no hash).
    """
    key = key or ec.generate_private_key(ec.SECP256R1())
    start = not_before or dt.datetime.now(dt.UTC) - BACKDATE
    end = not_after or start + DEFAULT_LIFETIME
    signer = issuer.key if issuer is not None else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer is not None else subject)
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
    if basic_constraints:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), True
        )
    if ca:
        builder = builder.add_extension(
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
    if subject_alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(subject_alt_names), False)
    if extended_key_usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended_key_usage), False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical)
    # Ed25519/Ed448 sign without a separate hash (the verifier refuses them: tests only).
    pure = isinstance(signer, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
    algorithm = None if pure else (signature_hash or hashes.SHA256())
    cert = builder.sign(signer, algorithm, rsa_padding=rsa_padding)
    chain = (issuer, *issuer.chain) if issuer is not None else ()
    return Issued(cert, key, chain)
