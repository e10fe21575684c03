"""Trust-store rows, made through the trust store's own service."""

from __future__ import annotations

from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth.models import AbstractBaseUser

from apps.trust.models import CaCertificate, MtlsCertificate
from apps.trust.services import certificate_create
from tests.factories.certs import Issued, pem_bundle


def upload_ca(
    name: str,
    hostnames: Iterable[str],
    *cas: Issued,
    enabled: bool = True,
    user: AbstractBaseUser | None = None,
) -> MtlsCertificate:
    """``cas`` uploaded as one bundle called ``name`` and bound to ``hostnames`` (by ``user``).

    Through ``certificate_create``, so with every upload check: each CA valid now and never
    uploaded before, every intermediate with its root in the same bundle.
    """
    return certificate_create(
        name=name, pem=pem_bundle(*cas), hostnames=list(hostnames), user=user, enabled=enabled
    )


def store_unchecked_ca(bundle: MtlsCertificate, ca: Issued) -> CaCertificate:
    """``ca`` added to an uploaded ``bundle`` as an intermediate, without the upload's checks.

    Bypasses ``validate_ca_bundle``, which refuses anything that is no CA (CA:FALSE, no
    basicConstraints). No upload can store such a certificate; a test that shows the request
    path refuses it all the same (should an older version, a restored backup or a hand edit of
    the database have stored one) needs the row written directly.
    """
    cert = ca.cert
    return CaCertificate.objects.create(
        bundle=bundle,
        position=bundle.certificates.count() + 1,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial_number=format(cert.serial_number, "x"),
        fingerprint_sha256=ca.fingerprint,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_type="ECDSA P-256" if isinstance(ca.key, ec.EllipticCurvePrivateKey) else "RSA",
        key_size=ca.key.key_size,
        signature_algorithm="ecdsa-with-SHA256",
        is_root=False,
        der=ca.der,
    )
