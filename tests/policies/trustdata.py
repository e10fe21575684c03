"""Trust-store rows for policy tests, written straight to the models (no upload form)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from apps.trust.models import AssociatedHostname, CaCertificate, MtlsCertificate
from tests.factories.certs import Issued


def bind(name: str, hostnames: list[str], *cas: Issued, enabled: bool = True) -> MtlsCertificate:
    """An uploaded bundle of ``cas`` (roots are the self-signed ones) bound to ``hostnames``."""
    bundle = MtlsCertificate.objects.create(
        name=name, pem="".join(c.pem for c in cas), enabled=enabled
    )
    for position, ca in enumerate(cas):
        cert = ca.cert
        CaCertificate.objects.create(
            bundle=bundle,
            position=position,
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            serial_number=format(cert.serial_number, "x"),
            fingerprint_sha256=ca.fingerprint,
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            key_type="ec" if isinstance(ca.key, ec.EllipticCurvePrivateKey) else "rsa",
            key_size=ca.key.key_size,
            signature_algorithm="sha256",
            is_root=cert.issuer == cert.subject,
            der=ca.der,
        )
    for hostname in hostnames:
        AssociatedHostname.objects.create(certificate=bundle, hostname=hostname)
    return bundle
