"""The CF_Authorization session token: minting and verifying, with keys and time passed in.

Tokens are JWTs signed **ES256** (ECDSA P-256, SHA-256). Why not EdDSA: both are fast and
compact (64-byte signatures), but ES256 is the one every JWT library an origin might use
supports (Node ``jsonwebtoken``, Java ``java-jwt``, nginx ``auth_jwt``, AWS ALB's own tokens),
and PyJWT verifies it slightly faster (RECIPES.md: 69 µs against 85 µs).

A token is bound to the client certificate it was issued for (``cnf.x5t#S256``, RFC 8705) and
to the configuration of its hostname (``epoch``): when a CA or policy of the hostname changes,
the epoch changes and every live token of that hostname stops verifying.

Verification is strict on purpose (SECURITY-CHECKLIST F): the algorithm is pinned, the
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
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from accessctl.core.policy import Decision, Policy, evaluation_order, path_covered

ALGORITHM = "ES256"
TOKEN_TYPE = "app"  # noqa: S105 (the `type` claim, not a secret)
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

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key that signs new tokens, and the ``kid`` published with its public half."""

    kid: str
    private_key: ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """What a verified token says: who (certificate), for which hostname, until when."""

    subject: str  # the certificate's SHA-256, lowercase hex
    common_name: str | None
    audience: str
    issuer: str
    epoch: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    token_id: str
    kid: str
    policy_id: int | None  # the policy that allowed the request the token was issued for


def certificate_thumbprint(fingerprint_sha256: str) -> str:
    """RFC 8705 ``x5t#S256``: base64url (unpadded) of the certificate's SHA-256 digest."""
    return base64.urlsafe_b64encode(bytes.fromhex(fingerprint_sha256)).rstrip(b"=").decode()


def public_jwk(kid: str, public_key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """The JWK an origin verifies tokens with: public half only, with ``kid``, ``alg``, ``use``."""
    jwk: dict[str, Any] = ECAlgorithm.to_jwk(public_key, as_dict=True)
    return {**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"}


def jwk_thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 thumbprint of a public key: the ``kid`` of a new signing key."""
    jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def session_lifetime(session_seconds: int) -> int:
    """Seconds a token lives for a policy's session duration (0: this request only)."""
    if session_seconds < 0:
        raise ValueError("a session duration cannot be negative")
    return session_seconds or REQUEST_TOKEN_SECONDS


def mint_token(
    *,
    key: SigningKey,
    fingerprint_sha256: str,
    common_name: str | None,
    audience: str,
    issuer: str,
    epoch: str,
    session_seconds: int,
    now: dt.datetime,
    policy_id: int | None = None,
    not_after: dt.datetime | None = None,
) -> str:
    """Sign a session token for a verified certificate on one hostname.

    ``session_seconds`` is the deciding policy's session duration; 0 ("No duration") gives a
    token for the current request only (:data:`REQUEST_TOKEN_SECONDS`). ``policy_id`` names
    the policy that allowed the request (see :func:`session_applies`); ``not_after`` is the
    certificate's expiry: a session never outlives the certificate it was issued for.
    """
    issued = int(now.timestamp())
    expires = issued + session_lifetime(session_seconds)
    if not_after is not None:
        expires = min(expires, int(not_after.timestamp()))
    if common_name is not None and len(common_name) > MAX_COMMON_NAME_LENGTH:
        common_name = None
    claims: dict[str, Any] = {
        "aud": [audience],
        "iss": issuer,
        "sub": fingerprint_sha256,
        "iat": issued,
        "nbf": issued,
        "exp": expires,
        "type": TOKEN_TYPE,
        "jti": secrets.token_urlsafe(16),
        "cnf": {"x5t#S256": certificate_thumbprint(fingerprint_sha256)},
        "epoch": epoch,
    }
    if common_name is not None:
        claims["common_name"] = common_name
    if policy_id is not None:
        claims["pol"] = policy_id
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


def verify_token(
    token: str,
    *,
    keys: Mapping[str, ec.EllipticCurvePublicKey],
    audience: str,
    issuer: str,
    epoch: str,
    now: dt.datetime,
    fingerprint_sha256: str | None = None,
) -> SessionClaims:
    """Verify a session token for one hostname at ``now``; raise :class:`TokenError`.

    ``keys`` are the public keys accepted now, by ``kid`` (current and, during the overlap,
    previous). When the request also presents a certificate, pass its ``fingerprint_sha256``:
    the token must have been issued for that certificate.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenError("token_malformed", str(exc)) from None
    if header.get("alg") != ALGORITHM:
        raise TokenError("token_bad_algorithm", f"alg {header.get('alg')!r}")
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in keys:
        raise TokenError("token_unknown_kid", f"kid {kid!r}")
    try:
        payload = jwt.decode(
            token,
            keys[kid],
            algorithms=[ALGORITHM],
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
        raise TokenError("token_bad_signature", str(exc)) from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenError("token_missing_claim", str(exc)) from None
    except jwt.InvalidAudienceError as exc:
        raise TokenError("token_wrong_audience", str(exc)) from None
    except jwt.InvalidIssuerError as exc:
        raise TokenError("token_wrong_issuer", str(exc)) from None
    except jwt.PyJWTError as exc:
        raise TokenError("token_invalid", str(exc)) from None
    return _check_claims(
        payload,
        kid=kid,
        audience=audience,
        epoch=epoch,
        now=now,
        fingerprint_sha256=fingerprint_sha256,
    )


def _check_claims(
    payload: dict[str, Any],
    *,
    kid: str,
    audience: str,
    epoch: str,
    now: dt.datetime,
    fingerprint_sha256: str | None,
) -> SessionClaims:
    times = {name: payload[name] for name in ("exp", "iat", "nbf")}
    if not all(type(value) is int for value in times.values()):
        raise TokenError("token_invalid", "exp, iat and nbf must be integers")
    moment = now.timestamp()
    if times["exp"] <= moment:
        raise TokenError("token_expired", f"expired at {times['exp']}")
    if times["nbf"] > moment + CLOCK_SKEW_SECONDS or times["iat"] > moment + CLOCK_SKEW_SECONDS:
        raise TokenError("token_not_yet_valid", f"nbf {times['nbf']}, iat {times['iat']}")
    if payload.get("type") != TOKEN_TYPE:
        raise TokenError("token_invalid", f"type {payload.get('type')!r}")
    if payload.get("epoch") != epoch:
        raise TokenError("token_stale_epoch", "the hostname's configuration changed")
    subject = payload["sub"]
    cnf = payload.get("cnf")
    if (
        not isinstance(subject, str)
        or not isinstance(cnf, dict)
        or cnf.get("x5t#S256") != _thumbprint_or_none(subject)
    ):
        raise TokenError("token_invalid", "sub and cnf do not name one certificate")
    if fingerprint_sha256 is not None and fingerprint_sha256 != subject:
        raise TokenError("token_cert_mismatch", "the token was issued for another certificate")
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
    )


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
