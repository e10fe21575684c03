"""Which public keys a certificate may carry: one rule for CAs (at upload) and client leaves
(on every verification), documented in docs/security.md ("Keys").

Accepted: RSA of at least :data:`MIN_RSA_BITS` bits, and ECDSA on P-256, P-384 or P-521.
Everything else is refused: RSA under 2048 bits (factorable in reach of a determined
attacker, so the identity it proves can be forged), DSA, other curves (P-192, secp256k1,
Brainpool) and the EdDSA keys the verifier cannot check signatures with.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

MIN_RSA_BITS = 2048
ACCEPTED_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
ACCEPTED_KEYS = f"RSA of at least {MIN_RSA_BITS} bits or ECDSA P-256, P-384 or P-521"


def key_kind(key: PublicKeyTypes) -> str:
    """``RSA 1024``, ``ECDSA P-256``, ``EC secp192r1``, ``DSA 2048``, ``Ed25519``…"""
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        name = key.curve.name
        return f"ECDSA {ACCEPTED_CURVES[name]}" if name in ACCEPTED_CURVES else f"EC {name}"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    return type(key).__name__.removesuffix("PublicKey").lstrip("_")


def key_problem(key: PublicKeyTypes) -> str | None:
    """None for an accepted key; otherwise why not, as a short phrase for messages."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size >= MIN_RSA_BITS:
            return None
        return f"a {key.key_size}-bit RSA key; at least {MIN_RSA_BITS} bits are required"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in ACCEPTED_CURVES:
        return None
    return f"a {key_kind(key)} key, which is not accepted (use {ACCEPTED_KEYS})"
