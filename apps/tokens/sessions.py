"""Session tokens for the Django side: issue, check, and carry them in cookies and headers.

The gateway (``apps.gateway.session_step``, the middleware, the Access endpoints) calls these.

Issuing: after an allow decision from a certificate, :func:`session_issue` signs a token for
the application the request was routed to; the middleware gives it to the application
(:func:`pass_to_application`) and, unless the policy says "No duration", to the client
(:func:`set_session_cookie`). A token signed for the same certificate, application
configuration, policy and key is reused for a bounded part of its life (:class:`MintedTokens`),
so a device that shows its certificate on every request and keeps no cookie does not cost an
RSA signature per request.

Checking: :func:`session_check` reads the ``CF_Authorization`` cookie and verifies it for the
application. A token is refused (403, or 401 for ``XMLHttpRequest``, and the cookie is
cleared) when it is malformed, expired, signed with an unknown key or the wrong algorithm,
minted for another application, older than the application's configuration, issued for
another certificate than the one presented with it, or issued for a certificate path of which
any certificate is now revoked (checked on every request against the snapshot's revocations,
after the verified-token cache: a revocation ends the session as soon as a worker's snapshot
has it).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Collection
from dataclasses import dataclass
from http.cookies import Morsel
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone

from accessctl.core import tokens
from accessctl.core.identity import ClientIdentity
from accessctl.core.memo import ExpiringLru
from accessctl.core.people import Person
from accessctl.core.policy import Outcome
from accessctl.core.reasons import Reason
from accessctl.core.revocation import NO_REVOCATIONS, ChainLink, Revocations, check_chain
from accessctl.core.snapshot import ApplicationConfig
from accessctl.core.tokens import MintedToken, SessionClaims, TokenError
from apps.base.conf import access_settings
from apps.tokens import keys
from apps.tokens.models import EndedSession

logger = logging.getLogger(__name__)

COOKIE_NAME = "CF_Authorization"
ASSERTION_HEADER = "Cf-Access-Jwt-Assertion"
ASSERTION_META = "HTTP_CF_ACCESS_JWT_ASSERTION"
EMAIL_HEADER = "Cf-Access-Authenticated-User-Email"
EMAIL_META = "HTTP_CF_ACCESS_AUTHENTICATED_USER_EMAIL"
# Browsers drop cookies over 4096 bytes (name, value and attributes together).
MAX_COOKIE_BYTES = 4096
# A signed token is handed out again for at most a tenth of its life, and never for more than
# this: every reused token keeps at least 90% of its lifetime, and a key rotation or a change
# of configuration is never outlived (both are part of the reuse key).
MAX_REUSE_SECONDS = 300
MAX_REUSED_TOKENS = 10_000


def token_issuer() -> str:
    """The ``iss`` of every token: ACCESSCTL_TOKEN_ISSUER, else the first dashboard host.

    Never derived from the request (a client chooses its Host header), so every node and
    every hostname agree on it.
    """
    return access_settings().token_issuer


ReuseKey = tuple[str, str, str, str, int, int, float, tuple[ChainLink, ...]]


class MintedTokens(ExpiringLru[ReuseKey, MintedToken]):
    """Tokens this worker signed lately, by everything that went into them. Bounded (LRU).

    A token is reused from its signing for a tenth of its life, at most
    :data:`MAX_REUSE_SECONDS` (and never before it was signed, should the clock step back)."""

    def __init__(self, maxsize: int = MAX_REUSED_TOKENS) -> None:
        super().__init__(maxsize)

    def remember(self, key: ReuseKey, minted: MintedToken) -> None:
        self.put(key, minted, reusable_until(minted), valid_from=minted.issued_at)


def reusable_until(minted: MintedToken) -> dt.datetime:
    """Until when ``minted`` may be handed out again: a tenth of its life, at most
    :data:`MAX_REUSE_SECONDS` from its signing."""
    lifetime = (minted.expires_at - minted.issued_at).total_seconds()
    return minted.issued_at + dt.timedelta(seconds=min(lifetime / 10, MAX_REUSE_SECONDS))


minted_tokens = MintedTokens()


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A token signed for one allowed request; ``cookie_max_age`` 0 means no cookie."""

    token: str
    cookie_max_age: int
    # When the token expires, and until when it may be handed out again (MintedTokens).
    expires_at: dt.datetime | None = None
    reusable_until: dt.datetime | None = None


def session_issue(
    *,
    application: ApplicationConfig,
    identity: ClientIdentity,
    outcome: Outcome,
    now: dt.datetime | None = None,
) -> IssuedSession | None:
    """Sign (or reuse) a session for a request allowed by a certificate; None when none is
    due (Bypass).

    Raises :class:`apps.tokens.keys.SigningKeyUnavailable` when no key can sign (the caller
    answers 503: letting the request through unsigned would hide the fault).
    """
    if not outcome.allowed or outcome.policy is None or outcome.session_seconds is None:
        return None
    now = now or timezone.now()
    signer = keys.key_ring(now=now).signing_key(now)
    key: ReuseKey = (
        signer.kid,
        identity.fingerprint_sha256,
        application.audience,
        application.epoch,
        outcome.policy.id,
        outcome.session_seconds,
        identity.not_after.timestamp(),
        identity.chain,
    )
    minted = minted_tokens.get(key, now)
    if minted is None:
        minted = tokens.mint_token(
            key=signer,
            fingerprint_sha256=identity.fingerprint_sha256,
            common_name=identity.common_name,
            audience=application.audience,
            issuer=token_issuer(),
            epoch=application.epoch,
            session_seconds=outcome.session_seconds,
            now=now,
            policy_id=outcome.policy.id,
            not_after=identity.not_after,
            chain=identity.chain,
        )
        minted_tokens.remember(key, minted)
    token = minted.token
    # The cookie lives as long as the token it holds ("No duration": no cookie at all).
    max_age = 0
    if outcome.session_seconds:
        max_age = max(0, int(minted.expires_at.timestamp()) - int(now.timestamp()))
    if max_age and len(COOKIE_NAME) + len(token) + 100 > MAX_COOKIE_BYTES:
        # Cannot happen with the claims we mint (tested); refuse to send a cookie a browser
        # would silently drop rather than loop the client through certificate checks.
        logger.error("session token too large for a cookie (%d bytes)", len(token))
        max_age = 0
    return IssuedSession(
        token=token,
        cookie_max_age=max_age,
        expires_at=minted.expires_at,
        reusable_until=reusable_until(minted),
    )


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """The result of reading a request's session cookie.

    ``claims`` is set for a valid token; ``error`` for a token that must be refused (and its
    cookie cleared); both are None when the request carries no session cookie.
    ``applies`` tells whether the valid session covers this request's path (see
    :func:`accessctl.core.tokens.session_applies`); when it does not, the certificate decides.
    """

    claims: SessionClaims | None = None
    error: TokenError | None = None
    applies: bool = False


VerifiedKey = tuple[bytes, str, str, int]


class VerifiedTokens(ExpiringLru[VerifiedKey, SessionClaims]):
    """Tokens this worker verified lately, by their exact bytes: a client sends the same
    cookie on every request, so its signature is checked once. An entry is kept until the
    token expires or its key stops being accepted, whichever comes first, and is keyed by the
    application's AUD tag and epoch and by the key ring's generation: a configuration change,
    a Revoke tokens or a key revocation is never outlived. Bounded (LRU)."""

    def __init__(self, maxsize: int = MAX_REUSED_TOKENS) -> None:
        super().__init__(maxsize)


verified_tokens = VerifiedTokens()


def session_check(
    token: str | None,
    application: ApplicationConfig,
    *,
    path: str = "/",
    fingerprint_sha256: str | None = None,
    now: dt.datetime | None = None,
    ended: Collection[str] = (),
    revocations: Revocations = NO_REVOCATIONS,
) -> SessionCheck:
    """Verify a ``CF_Authorization`` token for ``application`` (None or empty: no session).

    Pass ``fingerprint_sha256`` when the request also presents a verified certificate: a
    token bound to a certificate must have been issued for it. ``path`` decides
    :attr:`SessionCheck.applies` (for certificate sessions; an identity session is evaluated
    again with the person it carries). ``ended`` holds the identity nonces of logins that
    were logged out. A token verified a moment ago is taken from :data:`verified_tokens`;
    whether its certificate path is revoked (``revocations``, the deciding snapshot's) is
    checked every time, after the cache.
    """
    if not token:
        return SessionCheck()
    claims, error = _verified(
        token, application.audience, application.epoch, tokens.TOKEN_TYPE, now, ended
    )
    if claims is None:
        return SessionCheck(error=error)
    revoked = check_chain(claims.links, revocations, now=now or timezone.now())
    if revoked.error is not None:
        return SessionCheck(error=TokenError(revoked.error, revoked.detail))
    bound = claims.certificate_sha256
    if fingerprint_sha256 is not None and bound is not None and fingerprint_sha256 != bound:
        return SessionCheck(
            error=TokenError(
                Reason.TOKEN_CERT_MISMATCH, "the token was issued for another certificate"
            )
        )
    applies = tokens.session_applies(application.policies, claims.policy_id, path)
    return SessionCheck(claims=claims, applies=applies)


def _verified(
    token: str,
    audience: str,
    epoch: str,
    token_type: str,
    now: dt.datetime | None,
    ended: Collection[str],
) -> tuple[SessionClaims | None, TokenError | None]:
    now = now or timezone.now()
    ring = keys.key_ring(now=now)
    key: VerifiedKey = (
        hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest(),
        audience,
        epoch,
        ring.generation,
    )
    claims = verified_tokens.get(key, now)
    if claims is None:
        try:
            claims = tokens.verify_token(
                token,
                keys=ring.verification_keys(now, keys.overlap()),
                audience=audience,
                issuer=token_issuer(),
                epoch=epoch,
                now=now,
                token_type=token_type,
            )
        except TokenError as exc:
            return None, exc
        accepted_until = ring.accepted_until(claims.kid, keys.overlap())
        verified_tokens.put(key, claims, min(claims.expires_at, accepted_until))
    if claims.identity_nonce and claims.identity_nonce in ended:
        return None, TokenError(Reason.SESSION_ENDED, "logged out")
    return claims, None


# --- Identity sessions -----------------------------------------------------------------------

# The global session on the authentication hostname lives as long as Cloudflare's default.
ORG_SESSION_SECONDS = 24 * 3600


def identity_session_issue(
    *,
    application: ApplicationConfig,
    person: Person,
    identity_nonce: str,
    outcome: Outcome,
    certificate: ClientIdentity | None,
    now: dt.datetime | None = None,
) -> IssuedSession:
    """Sign an application's session for a person who logged in (``/cdn-cgi/access/authorized``).

    Bound to ``certificate`` (``cnf``) when the allowing policy has certificate rules: a stolen
    cookie is then useless without the certificate's key. Raises
    :class:`apps.tokens.keys.SigningKeyUnavailable` when no key can sign.
    """
    now = now or timezone.now()
    policy = outcome.policy
    seconds = outcome.session_seconds or 0
    bound = certificate if policy is not None and policy.needs_certificate else None
    minted = tokens.mint_token(
        key=keys.key_ring(now=now).signing_key(now),
        fingerprint_sha256=bound.fingerprint_sha256 if bound else None,
        common_name=bound.common_name if bound else None,
        audience=application.audience,
        issuer=token_issuer(),
        epoch=application.epoch,
        session_seconds=seconds,
        now=now,
        policy_id=policy.id if policy else None,
        not_after=bound.not_after if bound else None,
        person=person,
        identity_nonce=identity_nonce,
    )
    max_age = max(0, int(minted.expires_at.timestamp()) - int(now.timestamp())) if seconds else 0
    return IssuedSession(token=minted.token, cookie_max_age=max_age)


def org_session_issue(
    *, person: Person, identity_nonce: str, now: dt.datetime | None = None
) -> IssuedSession:
    """Sign the global session of the authentication hostname (``type: org``)."""
    now = now or timezone.now()
    minted = tokens.mint_token(
        key=keys.key_ring(now=now).signing_key(now),
        fingerprint_sha256=None,
        common_name=None,
        audience=token_issuer(),
        issuer=token_issuer(),
        epoch=tokens.ORG_EPOCH,
        session_seconds=ORG_SESSION_SECONDS,
        now=now,
        person=person,
        identity_nonce=identity_nonce,
        token_type=tokens.ORG_TOKEN_TYPE,
    )
    return IssuedSession(token=minted.token, cookie_max_age=ORG_SESSION_SECONDS)


def org_session_check(
    token: str | None, *, now: dt.datetime | None = None, ended: Collection[str] = ()
) -> SessionClaims | None:
    """The person of a valid global session on the authentication hostname, else None."""
    if not token:
        return None
    claims, _ = _verified(
        token, token_issuer(), tokens.ORG_EPOCH, tokens.ORG_TOKEN_TYPE, now, ended
    )
    return claims if claims is not None and claims.person is not None else None


def pass_to_application(request: HttpRequest, token: str) -> None:
    """Give the token to the application as ``Cf-Access-Jwt-Assertion``, replacing any copy
    the client sent (a client-supplied assertion must never reach the origin)."""
    request.META[ASSERTION_META] = token


def strip_client_assertion(request: HttpRequest) -> None:
    """Remove a ``Cf-Access-Jwt-Assertion`` (and an authenticated email) the client sent
    itself."""
    request.META.pop(ASSERTION_META, None)
    request.META.pop(EMAIL_META, None)


def set_session_cookie(response: HttpResponseBase, session: IssuedSession) -> None:
    """Send the session to the client, unless the policy says "No duration"."""
    if session.cookie_max_age <= 0:
        return
    value, coded_value, attributes = _session_cookie(session.token, session.cookie_max_age)
    morsel: Morsel[str] = Morsel()
    morsel.set(COOKIE_NAME, value, coded_value)
    morsel.update(attributes)
    response.cookies[COOKIE_NAME] = morsel


@functools.lru_cache(maxsize=256)
def _session_cookie(token: str, max_age: int) -> tuple[str, str, dict[str, Any]]:
    """The cookie as Django's ``set_cookie`` writes it, built once per token and Max-Age (a
    token is handed out again and again: quoting it and dating the cookie cost more than the
    rest of the session step). Each response gets its own ``Morsel`` made from these parts,
    so nothing a response does to its cookie reaches the next one."""
    holder = HttpResponse()
    holder.set_cookie(
        COOKIE_NAME, token, max_age=max_age, path="/", secure=True, httponly=True, samesite="Lax"
    )
    made = holder.cookies[COOKIE_NAME]
    attributes = {key: made[key] for key in made.keys() if made[key]}
    return made.value, made.coded_value, attributes


def clear_session_cookie(response: HttpResponseBase) -> None:
    """Expire the session cookie, with the attributes it was set with (Max-Age=0)."""
    response.set_cookie(
        COOKIE_NAME, "", max_age=0, path="/", secure=True, httponly=True, samesite="Lax"
    )


def is_xhr(request: HttpRequest) -> bool:
    """Requests from scripts get 401 instead of a page when their session is gone."""
    return request.META.get("HTTP_X_REQUESTED_WITH") == "XMLHttpRequest"


def is_script(request: HttpRequest) -> bool:
    """A request a login page would be wasted on, as Cloudflare tells them apart: an
    ``XMLHttpRequest``, or one whose ``Accept`` does not name ``text/html``."""
    return is_xhr(request) or "text/html" not in request.META.get("HTTP_ACCEPT", "")


def session_end(*, identity_nonce: str, now: dt.datetime | None = None) -> None:
    """Log a login out everywhere: every session carrying ``identity_nonce`` is refused on
    every application and node from the next configuration snapshot (within a second)."""
    if not identity_nonce:
        return
    now = now or timezone.now()
    until = now + dt.timedelta(seconds=max(ORG_SESSION_SECONDS, 31 * 24 * 3600))
    EndedSession.objects.update_or_create(
        identity_nonce=identity_nonce, defaults={"ended_at": now, "until": until}
    )
