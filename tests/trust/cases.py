"""Bundles every upload path must refuse, shared by the service, admin and command tests.

Each case builds its PEM at call time (fresh keys) and says which certificate the message
must name; :func:`counts` is how each test shows that a refusal wrote nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from accessctl.core.pem import MAX_BUNDLE_BYTES, MAX_CERTIFICATES
from apps.trust.models import AssociatedHostname, CaCertificate, MtlsCertificate
from tests.factories import certs as f
from tests.factories import der


def counts() -> tuple[int, int, int]:
    """Rows of bundles, their certificates and their hostnames: unchanged after a refusal."""
    return (
        MtlsCertificate.objects.count(),
        CaCertificate.objects.count(),
        AssociatedHostname.objects.count(),
    )


def _expired() -> str:
    return f.make_ca(
        "Old Root",
        not_before=f.now() - dt.timedelta(days=400),
        not_after=f.now() - dt.timedelta(days=1),
    ).pem


def _with_private_key() -> str:
    root = f.make_ca("Keyed Root")
    return root.pem + root.key_pem


def _leaf() -> str:
    root = f.make_ca("Leaf Root")
    return root.pem + f.make_leaf(root, "device-1").pem


def _server() -> str:
    root = f.make_ca("Server Root")
    return root.pem + f.make_leaf(root, "www.example.com", eku=(f.SERVER_AUTH,)).pem


def _unchained() -> str:
    root = f.make_ca("Missing Root")
    return f.make_ca("Orphan Devices", issuer=root).pem


def _one_bad_of_three() -> str:
    root = f.make_ca("Good Root")
    inter = f.make_ca("Good Devices", issuer=root)
    weak = f.make_ca("SHA1 Devices", key_type="rsa", signature_hash="sha1")
    return root.pem + inter.pem + weak.pem


def _half_aki_intermediate() -> str:
    root = f.make_ca("AKI Root")
    return root.pem + f.half_aki(f.make_ca("Half AKI Devices", issuer=root)).pem


def _unknown_critical() -> str:
    extension = der.extension("1.3.6.1.4.1.99999.1", der.tlv(0x05, b""), critical=True)
    return f.with_extra_extensions(f.make_ca("Odd Root"), extension).pem


def _critical_eku() -> str:
    eku = der.extension(
        der.EXTENDED_KEY_USAGE, der.seq(der.oid("1.3.6.1.5.5.7.3.2")), critical=True
    )
    return f.with_extra_extensions(f.make_ca("Critical EKU Root"), eku).pem


def _too_large() -> str:
    return f.make_ca("Big Root").pem + "# padding\n" * (MAX_BUNDLE_BYTES // 10)


def _too_many() -> str:
    return f.make_ca("Many Root").pem * (MAX_CERTIFICATES + 1)


# name → (build the PEM, reason code, text the message must contain)
REFUSALS: dict[str, tuple[Callable[[], str], str, str]] = {
    "private key": (_with_private_key, "private_key", "contains a private key"),
    "not a CA (CA:FALSE)": (_leaf, "leaf_certificate", "certificate #2 (CN=device-1)"),
    "server certificate": (_server, "server_certificate", "certificate #2 (CN=www.example.com)"),
    "no basicConstraints": (
        lambda: f.make_ca("No BC", basic_constraints=False).pem,
        "not_ca",
        "certificate #1 (CN=No BC) is not a CA",
    ),
    "no keyCertSign": (
        lambda: f.make_ca("No Sign", key_cert_sign=False).pem,
        "key_usage",
        "certificate #1 (CN=No Sign)",
    ),
    "expired": (_expired, "expired", "certificate #1 (CN=Old Root) expired"),
    "not yet valid": (
        lambda: f.make_ca("Future Root", not_before=f.now() + dt.timedelta(days=3)).pem,
        "not_yet_valid",
        "certificate #1 (CN=Future Root)",
    ),
    "SHA-1": (
        lambda: f.make_ca("SHA1 Root", key_type="rsa", signature_hash="sha1").pem,
        "weak_signature",
        "certificate #1 (CN=SHA1 Root) is signed with SHA-1",
    ),
    "MD5": (
        lambda: f.make_ca("MD5 Root", key_type="rsa", signature_hash="md5").pem,
        "weak_signature",
        "certificate #1 (CN=MD5 Root) is signed with MD5",
    ),
    "RSA 1024": (
        lambda: f.make_ca("Small Root", key_type="rsa", rsa_bits=1024).pem,
        "weak_key",
        "certificate #1 (CN=Small Root) has a 1024-bit RSA key",
    ),
    "unchained intermediate": (
        _unchained,
        "issuer_missing",
        "certificate #1 (CN=Orphan Devices) is an intermediate",
    ),
    "one bad certificate of three": (
        _one_bad_of_three,
        "weak_signature",
        "certificate #3 (CN=SHA1 Devices)",
    ),
    "bundle over the size limit": (_too_large, "too_large", "the limit is"),
    # Extensions cryptography cannot read, or the verifier would refuse for every client.
    "DNS name constraint '*'": (
        lambda: f.wildcard_dns_constrained_ca().pem,
        "bad_extension",
        "certificate #1 (CN=Wildcard NC Root): its extensions cannot be read",
    ),
    "IP name constraint that is not a network": (
        lambda: f.host_ip_constrained_ca().pem,
        "bad_extension",
        "certificate #1 (CN=Host IP NC Root): its extensions cannot be read",
    ),
    "authority key identifier with an issuer and no serial": (
        _half_aki_intermediate,
        "bad_extension",
        "certificate #2 (CN=Half AKI Devices): its extensions cannot be read",
    ),
    "an extension twice": (
        lambda: f.with_extension_twice(f.make_ca("Twice Root"), der.KEY_USAGE).pem,
        "duplicate_extension",
        "certificate #1 (CN=Twice Root) has the keyUsage (2.5.29.15) extension twice",
    ),
    "directoryName name constraint": (
        lambda: f.directory_name_constrained_ca().pem,
        "unsupported_name_constraint",
        "certificate #1 (CN=DirName NC Root): its name constraints include a directoryName",
    ),
    "critical extendedKeyUsage (the verifier refuses every client)": (
        _critical_eku,
        "never_verifies",
        # What follows is cryptography's own wording, which names the extension by its OID
        # (50.x: "2.5.29.37: …") or by name and OID (51.x: "extendedKeyUsage (2.5.29.37): …").
        "certificate #1 (CN=Critical EKU Root): the verifier would refuse every client "
        "certificate under it (invalid extension: ",
    ),
    "unknown critical extension": (
        _unknown_critical,
        "unknown_critical_extension",
        "certificate #1 (CN=Odd Root) has a critical extension the verifier does not know",
    ),
    "too many certificates": (_too_many, "too_many_certificates", "more than"),
    "no certificate": (lambda: "just some text\n", "no_certificate", "no certificate found"),
}


def key_lines(pem_text: str) -> list[str]:
    """The secret base64 lines of any private-key block in ``pem_text``."""
    lines, inside = [], False
    for line in pem_text.splitlines():
        if "PRIVATE KEY-----" in line:
            inside = "BEGIN" in line
            continue
        if inside and line:
            lines.append(line)
    return lines
