"""Client-certificate chain verification with ``cryptography.x509.verification``.

No path building of our own: ``PolicyBuilder``/``build_client_verifier`` does it, against a
``Store`` holding only the roots bound to one hostname. Decision (documented in the README):
uploaded *roots* are trust anchors; uploaded *intermediates* are offered to the verifier as
untrusted intermediates, together with any the terminator forwarded. An intermediate therefore
never vouches for a client on its own: the path must reach a root bound to the hostname.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from accessctl.core.identity import ClientIdentity, identity_of

DEFAULT_MAX_CHAIN_DEPTH = 4

# Client certificates made for CN matching often carry no SubjectAlternativeName; the WebPKI
# end-entity defaults would refuse them. Everything else (EKU, basic constraints, key usage)
# keeps the WebPKI defaults: serverAuth-only leaves and CA leaves are still refused.
_EE_POLICY = ExtensionPolicy.webpki_defaults_ee().may_be_present(
    x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
)
_CA_POLICY = ExtensionPolicy.webpki_defaults_ca()


class ChainError(Exception):
    """Verification failed. ``reason`` is a stable code for logs and the policy tester."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class TrustAnchors:
    """The roots and uploaded intermediates bound to one hostname, ready for verification."""

    store: Store | None  # None when the hostname has no CA at all
    intermediates: tuple[x509.Certificate, ...]

    @classmethod
    def build(
        cls, roots: Sequence[x509.Certificate], intermediates: Sequence[x509.Certificate]
    ) -> TrustAnchors:
        return cls(Store(list(roots)) if roots else None, tuple(intermediates))


@dataclass(frozen=True, slots=True)
class VerifiedChain:
    """A leaf that chains to a bound root, with the path the verifier found."""

    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # leaf first, root last
    identity: ClientIdentity


def verify_client_chain(
    leaf: x509.Certificate,
    presented_intermediates: Sequence[x509.Certificate],
    anchors: TrustAnchors,
    *,
    now: dt.datetime,
    max_depth: int = DEFAULT_MAX_CHAIN_DEPTH,
) -> VerifiedChain:
    """Verify ``leaf`` for client authentication at ``now``; raise :class:`ChainError`.

    ``max_depth`` counts intermediates between the leaf and the root.
    """
    if anchors.store is None:
        raise ChainError("no_trust_anchor", "no CA certificate is bound to this hostname")
    if now < leaf.not_valid_before_utc:
        raise ChainError("cert_not_yet_valid", f"valid from {leaf.not_valid_before_utc}")
    if now > leaf.not_valid_after_utc:
        raise ChainError("cert_expired", f"expired at {leaf.not_valid_after_utc}")
    verifier = (
        PolicyBuilder()
        .store(anchors.store)
        .time(now)
        .max_chain_depth(max_depth)
        .extension_policies(ca_policy=_CA_POLICY, ee_policy=_EE_POLICY)
        .build_client_verifier()
    )
    try:
        verified = verifier.verify(leaf, [*presented_intermediates, *anchors.intermediates])
        identity = identity_of(leaf)
    except VerificationError as exc:
        raise ChainError(_reason(str(exc)), str(exc)) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        # A malformed extension or an unknown key type, even in a leaf a bound CA signed:
        # refused like any other failure, never an exception the caller must know about.
        raise ChainError("cert_unsupported", f"{type(exc).__name__}: {exc}"[:200]) from None
    return VerifiedChain(leaf=leaf, chain=tuple(verified.chain), identity=identity)


def _reason(message: str) -> str:
    """Map the verifier's message to a stable reason code (the message goes to the log)."""
    text = message.lower()
    if "eku" in text or "extended key usage" in text:
        return "eku_not_client_auth"
    if "depth" in text:
        return "chain_too_deep"
    if "expired" in text or "not valid" in text or "validity" in text:
        return "chain_expired"
    if "basicconstraints" in text or "basic constraints" in text or "path length" in text:
        return "chain_invalid_ca"
    return "chain_untrusted"
