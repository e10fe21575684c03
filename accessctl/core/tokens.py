"""The CF_Authorization session token: minting and verifying, with keys and time passed in.

Tokens are JWTs in Cloudflare Access's shape, signed **RS256** (RSA 2048, PKCS#1 v1.5,
SHA-256) by default, because origins written for Cloudflare follow its documentation: they
load every key of ``/cdn-cgi/access/certs`` with an RSA JWK loader and accept ``RS256`` only.
**ES256** (ECDSA P-256) is the alternative for deployments that want smaller, cheaper
signatures; a key's algorithm follows from its type, and a token is only ever verified with
its key's own algorithm.

A token is bound to the client certificate it was issued for (``cnf.x5t#S256``, RFC 8705), to
one application (``aud``: its AUD tag) and to that application's configuration (``epoch``):
when a CA of its hostnames, one of its policies or its domains change, or its tokens are
revoked, the epoch changes and every live token of that application stops verifying. It also
carries the verified path (``chn``: fingerprint and serial of each certificate, leaf first), so
that a session ends as soon as any certificate of that path is revoked
(``accessctl.core.revocation``), without the certificate being shown again.

Verification is strict on purpose (docs/security.md, "Tokens"): the algorithm is pinned, the
``kid`` must name a key we accept, and ``exp``/``iat``/``nbf``/``iss``/``aud``/``sub`` must
all be present. Time checks use the ``now`` passed in, not the clock of the JWT library.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from accessctl.core.people import Person
from accessctl.core.policy import Decision, Policy, evaluation_order, path_covered
from accessctl.core.reasons import Reason
from accessctl.core.revocation import ChainLink


class Algorithm(StrEnum):
    """The JWS algorithms tokens are signed with (``ACCESSCTL_TOKEN_ALGORITHM``)."""

    RS256 = "RS256"  # Cloudflare's, and the default
    ES256 = "ES256"


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
RSA_KEY_BITS = 2048  # as Cloudflare's Access keys
TOKEN_TYPE = "app"  # noqa: S105 (the `type` claim, not a secret)
# The global session on the authentication hostname (Cloudflare's team domain session).
ORG_TOKEN_TYPE = "org"  # noqa: S105
ORG_EPOCH = "org"
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "sub")
# Nodes' clocks differ a little: a token minted on one node is accepted by another whose
# clock is slightly behind. Expiry gets no grace.
CLOCK_SKEW_SECONDS = 30
# "No duration": the token is given to the application for this one request only (never to
# the client), but lives long enough for the origin to validate it with a standard library.
REQUEST_TOKEN_SECONDS = 60
# A common name longer than X.520's upper bound is left out of the token, which keeps the
# cookie small whatever the certificate holds (the fingerprint in `sub` still identifies it).
MAX_COMMON_NAME_LENGTH = 64


class TokenError(Exception):
    """The token is refused. ``reason`` is a stable code for the access log."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Signer:
    """A private key that signs new tokens, and the ``kid`` published with its public half.

    (The stored key, with its state and encrypted private half, is the ``SigningKey`` model
    of ``apps.tokens``; this is what a worker holds in memory to sign.)
    """

    kid: str
    private_key: PrivateKey

    @property
    def algorithm(self) -> Algorithm:
        return algorithm_of(self.private_key.public_key())


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """What a verified token says: who (a certificate, or a person who logged in), for which
    application, until when.

    For a certificate session ``subject`` is the certificate's SHA-256 and ``person`` is None;
    for an identity session ``subject`` is the person's stable id, ``person`` what the login
    established and ``identity_nonce`` names the login (logout ends it everywhere).
    ``certificate_sha256`` is the certificate the session is bound to (``cnf``), if any.
    """

    subject: str
    common_name: str | None
    audience: str
    issuer: str
    epoch: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    token_id: str
    kid: str
    policy_id: int | None  # the policy that allowed the request the token was issued for
    person: Person | None = None
    identity_nonce: str = ""
    certificate_sha256: str | None = None
    chain: tuple[ChainLink, ...] = ()  # the verified path it was issued for, leaf first

    @property
    def links(self) -> tuple[ChainLink, ...]:
        """What a revocation check looks at: the path, or (a token without one) the leaf it
        is bound to; nothing for an identity session bound to no certificate."""
        if self.chain:
            return self.chain
        return (ChainLink(self.certificate_sha256, ""),) if self.certificate_sha256 else ()


def certificate_thumbprint(fingerprint_sha256: str) -> str:
    """RFC 8705 ``x5t#S256``: base64url (unpadded) of the certificate's SHA-256 digest."""
    return base64.urlsafe_b64encode(bytes.fromhex(fingerprint_sha256)).rstrip(b"=").decode()


def algorithm_of(public_key: PublicKey) -> Algorithm:
    """The algorithm a key signs with: RS256 for RSA, ES256 for ECDSA P-256."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return Algorithm.RS256
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name == "secp256r1":
        return Algorithm.ES256
    raise ValueError(f"no token algorithm for a {type(public_key).__name__}")


def generate_private_key(algorithm: Algorithm) -> PrivateKey:
    """A fresh key for ``algorithm``: RSA 2048 (e = 65537) or ECDSA P-256."""
    if algorithm is Algorithm.RS256:
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    return ec.generate_private_key(ec.SECP256R1())


def _jwk(public_key: PublicKey) -> dict[str, Any]:
    if isinstance(public_key, rsa.RSAPublicKey):
        rsa_jwk: dict[str, Any] = RSAAlgorithm.to_jwk(public_key, as_dict=True)
        return rsa_jwk
    ec_jwk: dict[str, Any] = ECAlgorithm.to_jwk(public_key, as_dict=True)
    return ec_jwk


def public_jwk(kid: str, public_key: PublicKey) -> dict[str, Any]:
    """The JWK an origin verifies tokens with: public half only, with ``kid``, ``kty``,
    ``alg``, ``use`` and the key's public parameters (``n``/``e``, or ``crv``/``x``/``y``)."""
    return {**_jwk(public_key), "kid": kid, "alg": algorithm_of(public_key).value, "use": "sig"}


def jwk_thumbprint(public_key: PublicKey) -> str:
    """RFC 7638 thumbprint of a public key: the ``kid`` of a new signing key."""
    jwk = _jwk(public_key)
    names = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({n: jwk[n] for n in names}, separators=(",", ":"), sort_keys=True)
    return (
        base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    )


def session_lifetime(session_seconds: int) -> int:
    """Seconds a token lives for a policy's session duration (0: this request only)."""
    if session_seconds < 0:
        raise ValueError("a session duration cannot be negative")
    return session_seconds or REQUEST_TOKEN_SECONDS


@dataclass(frozen=True, slots=True)
class MintedToken:
    """A signed token and the times it was signed for."""

    token: str
    issued_at: dt.datetime
    expires_at: dt.datetime


def mint_token(
    *,
    key: Signer,
    fingerprint_sha256: str | None,
    common_name: str | None,
    audience: str,
    issuer: str,
    epoch: str,
    session_seconds: int,
    now: dt.datetime,
    policy_id: int | None = None,
    not_after: dt.datetime | None = None,
    person: Person | None = None,
    identity_nonce: str = "",
    token_type: str = TOKEN_TYPE,
    chain: Sequence[ChainLink] = (),
) -> MintedToken:
    """Sign a session token for a verified certificate, for one application (``audience``).

    ``session_seconds`` is the deciding policy's session duration; 0 ("No duration") gives a
    token for the current request only (:data:`REQUEST_TOKEN_SECONDS`). ``policy_id`` names
    the policy that allowed the request (see :func:`session_applies`); ``not_after`` is the
    certificate's expiry: a session never outlives the certificate it was issued for.

    With ``person`` it is an identity session (``email``, ``sub`` per person,
    ``identity_nonce``, ``idp``, ``groups`` and the claims policies compare, under
    ``custom``), bound to the certificate only when ``fingerprint_sha256`` is given.
    ``chain`` is the verified path (leaf first), carried as ``chn``.
    """
    if person is None and fingerprint_sha256 is None:
        raise ValueError("a token is for a certificate, a person, or both")
    issued = int(now.timestamp())
    expires = issued + session_lifetime(session_seconds)
    if not_after is not None:
        expires = min(expires, int(not_after.timestamp()))
    if common_name is not None and len(common_name) > MAX_COMMON_NAME_LENGTH:
        common_name = None
    claims: dict[str, Any] = {
        "aud": [audience],
        "iss": issuer,
        "sub": person.subject if person is not None else fingerprint_sha256,
        "iat": issued,
        "nbf": issued,
        "exp": expires,
        "type": token_type,
        "jti": secrets.token_urlsafe(16),
        "epoch": epoch,
    }
    if fingerprint_sha256 is not None:
        claims["cnf"] = {"x5t#S256": certificate_thumbprint(fingerprint_sha256)}
    if person is not None:
        claims |= _person_claims(person, identity_nonce)
    if common_name is not None:
        claims["common_name"] = common_name
    if policy_id is not None:
        claims["pol"] = policy_id
    if chain:
        claims["chn"] = [[link.fingerprint, link.serial] for link in chain]
    token = jwt.encode(
        claims, key.private_key, algorithm=key.algorithm.value, headers={"kid": key.kid}
    )
    return MintedToken(
        token,
        dt.datetime.fromtimestamp(issued, dt.UTC),
        dt.datetime.fromtimestamp(expires, dt.UTC),
    )


def _person_claims(person: Person, identity_nonce: str) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "email": person.email,
        "identity_nonce": identity_nonce,
        "idp": {
            "id": person.login_method,
            "name": person.login_method_name,
            "type": person.login_method_type,
        },
    }
    if person.groups:
        claims["groups"] = list(person.groups)
    if person.claims:
        claims["custom"] = {name: list(values) for name, values in person.claims.items()}
    return claims


def _person_of(payload: Mapping[str, Any], subject: str) -> Person | None:
    """The person an identity token names, or None for a certificate token."""
    email = payload.get("email")
    if not isinstance(email, str):
        return None
    idp = payload.get("idp")
    idp = idp if isinstance(idp, dict) else {}
    groups = payload.get("groups")
    custom = payload.get("custom")
    claims: dict[str, tuple[str, ...]] = {}
    if isinstance(custom, dict):
        for name, values in custom.items():
            if isinstance(name, str) and isinstance(values, list):
                claims[name] = tuple(v for v in values if isinstance(v, str))
    return Person(
        email=email,
        subject=subject,
        login_method=str(idp.get("id", "")),
        login_method_name=str(idp.get("name", "")),
        login_method_type=str(idp.get("type", "")),
        groups=tuple(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else (),
        claims=claims,
    )


def claimed_audience(token: str) -> str | None:
    """The first ``aud`` a token *claims*, unverified: only to pick the application whose
    configuration :func:`verify_token` then checks it against (never to trust it)."""
    try:
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    aud = payload.get("aud") if isinstance(payload, dict) else None
    if isinstance(aud, list) and aud and isinstance(aud[0], str):
        return aud[0]
    return aud if isinstance(aud, str) else None


def verify_token(
    token: str,
    *,
    keys: Mapping[str, PublicKey],
    audience: str,
    issuer: str,
    epoch: str,
    now: dt.datetime,
    fingerprint_sha256: str | None = None,
    token_type: str = TOKEN_TYPE,
) -> SessionClaims:
    """Verify a session token for one application (``audience``) at ``now``; raise
    :class:`TokenError`. ``token_type`` is ``app`` (an application's session) or ``org``
    (the global session on the authentication hostname).

    ``keys`` are the public keys accepted now, by ``kid`` (current and, during the overlap,
    previous). The token's ``alg`` must be its key's own algorithm (RS256 for an RSA key,
    ES256 for an EC one): never another, never ``none``, never HMAC. When the request also
    presents a certificate, pass its ``fingerprint_sha256``: the token must have been issued
    for that certificate.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenError(Reason.TOKEN_MALFORMED, str(exc)) from None
    alg = header.get("alg")
    if alg not in {a.value for a in Algorithm}:
        raise TokenError(Reason.TOKEN_BAD_ALGORITHM, f"alg {alg!r}")
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in keys:
        raise TokenError(Reason.TOKEN_UNKNOWN_KID, f"kid {kid!r}")
    key = keys[kid]
    if alg != algorithm_of(key):
        raise TokenError(Reason.TOKEN_BAD_ALGORITHM, f"alg {alg!r} for a {algorithm_of(key)} key")
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=audience,
            issuer=issuer,
            # Time is checked below against the `now` we were given.
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenError(Reason.TOKEN_BAD_SIGNATURE, str(exc)) from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenError(Reason.TOKEN_MISSING_CLAIM, str(exc)) from None
    except jwt.InvalidAudienceError as exc:
        raise TokenError(Reason.TOKEN_WRONG_AUDIENCE, str(exc)) from None
    except jwt.InvalidIssuerError as exc:
        raise TokenError(Reason.TOKEN_WRONG_ISSUER, str(exc)) from None
    except jwt.PyJWTError as exc:
        raise TokenError(Reason.TOKEN_INVALID, str(exc)) from None
    return _check_claims(
        payload,
        kid=kid,
        audience=audience,
        epoch=epoch,
        now=now,
        fingerprint_sha256=fingerprint_sha256,
        token_type=token_type,
    )


def _certificate_binding(payload: Mapping[str, Any], person: Person | None) -> str | None:
    """The SHA-256 (hex) of the certificate the token is bound to; raise when ``sub`` and
    ``cnf`` disagree (a certificate token is always bound, to the certificate in ``sub``)."""
    subject = payload["sub"]
    cnf = payload.get("cnf")
    if person is not None and cnf is None:
        return None
    thumbprint = cnf.get("x5t#S256") if isinstance(cnf, dict) else None
    if person is None:
        if not isinstance(subject, str) or thumbprint != _thumbprint_or_none(subject):
            raise TokenError(Reason.TOKEN_INVALID, "sub and cnf do not name one certificate")
        return subject
    try:
        digest = base64.urlsafe_b64decode(str(thumbprint) + "==")
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise TokenError(Reason.TOKEN_INVALID, "cnf does not name a certificate")
    return digest.hex()


def _check_claims(
    payload: dict[str, Any],
    *,
    kid: str,
    audience: str,
    epoch: str,
    now: dt.datetime,
    fingerprint_sha256: str | None,
    token_type: str = TOKEN_TYPE,
) -> SessionClaims:
    times = {name: payload[name] for name in ("exp", "iat", "nbf")}
    if not all(type(value) is int for value in times.values()):
        raise TokenError(Reason.TOKEN_INVALID, "exp, iat and nbf must be integers")
    moment = now.timestamp()
    if times["exp"] <= moment:
        raise TokenError(Reason.TOKEN_EXPIRED, f"expired at {times['exp']}")
    if times["nbf"] > moment + CLOCK_SKEW_SECONDS or times["iat"] > moment + CLOCK_SKEW_SECONDS:
        raise TokenError(Reason.TOKEN_NOT_YET_VALID, f"nbf {times['nbf']}, iat {times['iat']}")
    if payload.get("type") != token_type:
        raise TokenError(Reason.TOKEN_INVALID, f"type {payload.get('type')!r}")
    if payload.get("epoch") != epoch:
        raise TokenError(Reason.TOKEN_STALE_EPOCH, "the hostname's configuration changed")
    subject = payload["sub"]
    if not isinstance(subject, str):
        raise TokenError(Reason.TOKEN_INVALID, "sub is not a string")
    person = _person_of(payload, subject)
    bound = _certificate_binding(payload, person)
    if fingerprint_sha256 is not None and bound is not None and fingerprint_sha256 != bound:
        raise TokenError(Reason.TOKEN_CERT_MISMATCH, "the token was issued for another certificate")
    nonce = payload.get("identity_nonce")
    chain = _chain(payload.get("chn"), bound or "") if bound else ()
    common_name = payload.get("common_name")
    token_id = payload.get("jti")
    policy_id = payload.get("pol")
    return SessionClaims(
        subject=subject,
        common_name=common_name if isinstance(common_name, str) else None,
        audience=audience,
        issuer=str(payload["iss"]),
        epoch=epoch,
        issued_at=dt.datetime.fromtimestamp(times["iat"], dt.UTC),
        expires_at=dt.datetime.fromtimestamp(times["exp"], dt.UTC),
        token_id=token_id if isinstance(token_id, str) else "",
        kid=kid,
        policy_id=policy_id if type(policy_id) is int else None,
        person=person,
        identity_nonce=nonce if isinstance(nonce, str) else "",
        certificate_sha256=bound,
        chain=chain,
    )


def _chain(value: Any, subject: str) -> tuple[ChainLink, ...]:
    """The ``chn`` claim as links; absent → (); anything malformed → the token is refused
    (a path that no longer names its leaf cannot be checked for revocation)."""
    if value is None:
        return ()
    if (
        not isinstance(value, list)
        or not value
        or not all(
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(part, str) for part in item)
            for item in value
        )
        or value[0][0] != subject
    ):
        raise TokenError(Reason.TOKEN_INVALID, "chn does not describe the certificate's path")
    return tuple(ChainLink(fingerprint, serial) for fingerprint, serial in value)


def session_applies(policies: Sequence[Policy], policy_id: int | None, path: str) -> bool:
    """Whether a session issued by policy ``policy_id`` lets a request to ``path`` through.

    A token does not carry the whole certificate, so the policies are not evaluated again.
    Instead: the issuing policy must still be enabled (the epoch already guarantees its rules
    are unchanged), give sessions at all (not "No duration") and cover ``path``, and no Block
    policy evaluated before it may cover ``path`` -- such a Block might match this
    certificate, so the certificate must be shown.
    Policies after the issuing one cannot change the outcome: it matches first.
    """
    if policy_id is None:
        return False
    for policy in evaluation_order(policies):
        if not path_covered(policy.path_prefix, path):
            continue
        if policy.id == policy_id:
            # A "No duration" policy's token lives for its one request: replayed as a cookie
            # (or by an origin that received it), it is never a session.
            return policy.session_seconds > 0 and policy.decision in {
                Decision.ALLOW,
                Decision.NON_IDENTITY,
            }
        if policy.decision == Decision.BLOCK:
            return False
    return False


def _thumbprint_or_none(fingerprint_sha256: str) -> str | None:
    if len(fingerprint_sha256) != 64:
        return None
    try:
        return certificate_thumbprint(fingerprint_sha256)
    except ValueError:
        return None
