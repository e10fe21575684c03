"""Client-certificate chain verification with ``cryptography.x509.verification``.

No path building of our own: ``PolicyBuilder``/``build_client_verifier`` does it, against a
``Store`` holding only the roots bound to one hostname. The decision, explained in
docs/security.md, "Chain validation": uploaded *roots* are trust anchors; uploaded
*intermediates* are offered to the verifier as untrusted intermediates, together with any the
terminator forwarded. An intermediate therefore never vouches for a client on its own: the
path must reach a root bound to the hostname.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from accessctl.core.forwarded import (
    DEFAULT_MAX_INTERMEDIATES,
    ForwardedCertError,
    ForwardedCertificate,
    load_chain,
)
from accessctl.core.identity import (
    UNREADABLE,
    ClientIdentity,
    identity_of,
    presented_identity,
    short_text,
    unreadable_detail,
)
from accessctl.core.keys import key_problem
from accessctl.core.reasons import Reason
from accessctl.core.revocation import (
    NO_REVOCATIONS,
    NOT_REVOKED,
    ChainLink,
    RevocationCheck,
    Revocations,
    check_chain,
)

DEFAULT_MAX_CHAIN_DEPTH = DEFAULT_MAX_INTERMEDIATES  # ACCESSCTL_MAX_CHAIN_DEPTH's default

# Client certificates made for CN matching often carry no SubjectAlternativeName; the WebPKI
# end-entity defaults would refuse them. Everything else (EKU, basic constraints, key usage)
# keeps the WebPKI defaults: serverAuth-only leaves and CA leaves are still refused.
EE_POLICY = ExtensionPolicy.webpki_defaults_ee().may_be_present(
    x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
)
CA_POLICY = ExtensionPolicy.webpki_defaults_ca()


class ChainError(Exception):
    """Verification failed. ``reason`` is a stable code for logs and the policy tester."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class TrustAnchors:
    """The roots and uploaded intermediates bound to one hostname, ready for verification,
    and what is revoked (``accessctl.core.revocation``): every verified path is checked
    against it."""

    store: Store | None  # None when the hostname has no CA at all
    intermediates: tuple[x509.Certificate, ...]
    revocations: Revocations = NO_REVOCATIONS

    @classmethod
    def build(
        cls,
        roots: Sequence[x509.Certificate],
        intermediates: Sequence[x509.Certificate],
        revocations: Revocations = NO_REVOCATIONS,
    ) -> TrustAnchors:
        return cls(Store(list(roots)) if roots else None, tuple(intermediates), revocations)


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
        raise ChainError(Reason.NO_TRUST_ANCHOR, "no CA certificate is bound to this hostname")
    if now < leaf.not_valid_before_utc:
        raise ChainError(Reason.CERT_NOT_YET_VALID, f"valid from {leaf.not_valid_before_utc}")
    if now > leaf.not_valid_after_utc:
        raise ChainError(Reason.CERT_EXPIRED, f"expired at {leaf.not_valid_after_utc}")
    verifier = (
        PolicyBuilder()
        .store(anchors.store)
        .time(now)
        .max_chain_depth(max_depth)
        .extension_policies(ca_policy=CA_POLICY, ee_policy=EE_POLICY)
        .build_client_verifier()
    )
    try:
        verified = verifier.verify(leaf, [*presented_intermediates, *anchors.intermediates])
        key = leaf.public_key()
        weak = key_problem(key)
        identity = identity_of(leaf, public_key=key)
    except VerificationError as exc:
        raise ChainError(_reason(str(exc)), short_text(str(exc))) from None
    except UNREADABLE as exc:
        # A malformed extension, an odd name or an unknown key type, even in a leaf a bound
        # CA signed: refused like any other failure, never an exception the caller must know.
        raise ChainError(Reason.CERT_UNSUPPORTED, unreadable_detail(exc)) from None
    if weak is not None:
        # The client key policy (accessctl.core.keys): the CA rules, applied to the leaf.
        raise ChainError(Reason.WEAK_KEY, f"the client certificate has {weak}")
    return VerifiedChain(leaf=leaf, chain=tuple(verified.chain), identity=identity)


def _reason(message: str) -> Reason:
    """Map the verifier's message to a stable reason code (the message goes to the log)."""
    text = message.lower()
    if "duplicate extension" in text:
        return Reason.CERT_MALFORMED
    if "unaccounted-for critical extension" in text:
        return Reason.CERT_UNSUPPORTED
    if "eku" in text or "extended key usage" in text:
        return Reason.EKU_NOT_CLIENT_AUTH
    if "depth" in text:
        return Reason.CHAIN_TOO_DEEP
    if "expired" in text or "not valid" in text or "validity" in text:
        return Reason.CHAIN_EXPIRED
    if "basicconstraints" in text or "basic constraints" in text or "path length" in text:
        return Reason.CHAIN_INVALID_CA
    return Reason.CHAIN_UNTRUSTED


# --- The one verification path --------------------------------------------------------------

# A result is reused (by the gateway's cache) for at most this long, since verification
# depends on the time; a refusal for less, so a client that fixed its chain is not kept out.
RESULT_TTL = dt.timedelta(seconds=60)
FAILURE_TTL = dt.timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class CertificateCheck:
    """What one presented certificate (and its forwarded chain) amounts to on one hostname.

    ``identity`` is set only when the chain verified; otherwise ``error`` says why not.
    ``presented`` describes the leaf as sent (unverified: for the log and the tester only)
    when it could be parsed; for a verified leaf it is ``identity``. ``path`` holds the
    subjects (RFC 4514) of the verified chain, leaf first: strings rather than certificates,
    so that the thousands of results a worker caches stay small. ``valid_until`` is how long
    the result may be reused: never past :data:`RESULT_TTL` (or :data:`FAILURE_TTL`), nor past
    the expiry of any certificate of the path, nor past the ``nextUpdate`` of a CRL it was
    checked against. ``revocation`` is what the revocation check said (for the tester).
    """

    identity: ClientIdentity | None
    error: Reason | None
    detail: str
    presented: ClientIdentity | None
    valid_until: dt.datetime
    path: tuple[str, ...] = ()
    revocation: RevocationCheck = NOT_REVOKED

    @classmethod
    def refused(
        cls,
        reason: Reason,
        detail: str,
        now: dt.datetime,
        presented: ClientIdentity | None = None,
    ) -> CertificateCheck:
        """A refusal, reusable for :data:`FAILURE_TTL`."""
        return cls(None, reason, detail, presented, now + FAILURE_TTL)


_CA_DESCRIPTIONS = 256  # CA certificates of verified paths described once and remembered


def check_certificate(
    forwarded: ForwardedCertificate,
    anchors: TrustAnchors,
    *,
    now: dt.datetime,
    max_depth: int = DEFAULT_MAX_CHAIN_DEPTH,
) -> CertificateCheck:
    """Parse, verify and describe a presented certificate: the one path from decoded bytes to
    an identity, used by the gateway (behind its cache) and by the policy tester alike.

    ``forwarded`` comes from :func:`accessctl.core.forwarded.decode` (a header) or
    :func:`accessctl.core.forwarded.decode_pem` (a paste). Never raises: every problem is a
    refusal with a reason code.
    """
    try:
        loaded = load_chain(forwarded)
    except ForwardedCertError as exc:
        return CertificateCheck.refused(exc.reason, exc.detail, now)
    try:
        verified = verify_client_chain(
            loaded.leaf, loaded.intermediates, anchors, now=now, max_depth=max_depth
        )
    except ChainError as exc:
        # Described only now: a verified leaf's identity is its description, made once.
        return CertificateCheck.refused(
            exc.reason, exc.detail, now, presented_identity(loaded.leaf)
        )
    # The leaf is described by its identity already; the certificates above it (the same
    # CA certificates for every client of a trust store) once each, then remembered.
    leaf = verified.identity
    try:
        above = [_ca_description(cert) for cert in verified.chain[1:]]
    except UNREADABLE as exc:  # a forwarded intermediate's name: refused, as the leaf's is
        return CertificateCheck.refused(
            Reason.CERT_UNSUPPORTED, unreadable_detail(exc), now, verified.identity
        )
    path = (leaf.subject, *(subject for subject, _, _ in above))
    links = (ChainLink(leaf.fingerprint_sha256, leaf.serial), *(link for _, link, _ in above))
    revocation = check_chain(links, anchors.revocations, now=now)
    if revocation.error is not None:
        return dataclasses.replace(
            CertificateCheck.refused(revocation.error, revocation.detail, now, verified.identity),
            path=path,
            revocation=revocation,
        )
    limits = [leaf.not_after, *(not_after for _, _, not_after in above)]
    if revocation.valid_until is not None:
        limits.append(revocation.valid_until)
    valid_until = min(now + RESULT_TTL, *limits)
    # The identity carries its path, so the session issued for it can be checked against a
    # revocation of any certificate of the path later (accessctl.core.tokens, "chn").
    identity = dataclasses.replace(verified.identity, chain=links)
    return CertificateCheck(
        identity, None, "", identity, valid_until, path=path, revocation=revocation
    )


@functools.lru_cache(maxsize=_CA_DESCRIPTIONS)
def _ca_description(cert: x509.Certificate) -> tuple[str, ChainLink, dt.datetime]:
    """A certificate above a leaf in a verified path: its subject (RFC 4514), its link (as
    :func:`chain_links` makes it) and its expiry. Keyed by the certificate (its DER): the
    verifier returns the trust store's own objects, and a forwarded intermediate is the same
    bytes each time. Bounded: distinct forwarded intermediates only push older ones out."""
    (link,) = chain_links([cert])
    return cert.subject.rfc4514_string(), link, cert.not_valid_after_utc


def chain_links(chain: Sequence[x509.Certificate]) -> tuple[ChainLink, ...]:
    """Fingerprint and serial of every certificate of a path, leaf first."""
    return tuple(
        ChainLink(cert.fingerprint(hashes.SHA256()).hex(), format(cert.serial_number, "x"))
        for cert in chain
    )
