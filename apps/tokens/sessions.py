"""The session glue the middleware and the Access endpoints call.

Issuing: after an allow decision from a certificate, :func:`session_issue` signs a token; the
middleware gives it to the application (:func:`pass_to_application`) and, unless the policy
says "No duration", to the client (:func:`set_session_cookie`).

Checking: :func:`session_check` reads the ``CF_Authorization`` cookie and verifies it for the
request's hostname. A token is refused (403, or 401 for ``XMLHttpRequest``, and the cookie is
cleared) when it is malformed, expired, signed with an unknown key or the wrong algorithm,
minted for another hostname, older than the hostname's configuration, or issued for another
certificate than the one presented with it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accessctl.core import tokens
from accessctl.core.identity import ClientIdentity
from accessctl.core.policy import Outcome
from accessctl.core.snapshot import HostConfig
from accessctl.core.tokens import SessionClaims, TokenError
from apps.tokens import keys

logger = logging.getLogger(__name__)

COOKIE_NAME = "CF_Authorization"
ASSERTION_HEADER = "Cf-Access-Jwt-Assertion"
ASSERTION_META = "HTTP_CF_ACCESS_JWT_ASSERTION"
# Browsers drop cookies over 4096 bytes (name, value and attributes together).
MAX_COOKIE_BYTES = 4096


def token_issuer() -> str:
    """The ``iss`` of every token: ACCESSCTL_TOKEN_ISSUER, else the first dashboard host.

    Never derived from the request (a client chooses its Host header), so every node and
    every hostname agree on it.
    """
    if settings.ACCESSCTL_TOKEN_ISSUER:
        return str(settings.ACCESSCTL_TOKEN_ISSUER)
    hosts = settings.ACCESSCTL_DASHBOARD_HOSTS
    return f"https://{hosts[0]}" if hosts else "accessctl"


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A token signed for one allowed request; ``cookie_max_age`` 0 means no cookie."""

    token: str
    cookie_max_age: int


def session_issue(
    *,
    host: HostConfig,
    identity: ClientIdentity,
    outcome: Outcome,
    now: dt.datetime | None = None,
) -> IssuedSession | None:
    """Sign a session for a request allowed by a certificate; None when none is due (Bypass).

    Raises :class:`apps.tokens.keys.SigningKeyUnavailable` when no key can sign (the caller
    answers 503: letting the request through unsigned would hide the fault).
    """
    if not outcome.allowed or outcome.policy is None or outcome.session_seconds is None:
        return None
    now = now or timezone.now()
    token = tokens.mint_token(
        key=keys.key_ring(now=now).signing_key(now),
        fingerprint_sha256=identity.fingerprint_sha256,
        common_name=identity.common_name,
        audience=host.audience,
        issuer=token_issuer(),
        epoch=host.epoch,
        session_seconds=outcome.session_seconds,
        now=now,
        policy_id=outcome.policy.id,
        not_after=identity.not_after,
    )
    max_age = outcome.session_seconds
    if max_age and len(COOKIE_NAME) + len(token) + 100 > MAX_COOKIE_BYTES:
        # Cannot happen with the claims we mint (tested); refuse to send a cookie a browser
        # would silently drop rather than loop the client through certificate checks.
        logger.error("session token too large for a cookie (%d bytes)", len(token))
        max_age = 0
    return IssuedSession(token=token, cookie_max_age=max_age)


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


def session_check(
    token: str | None,
    host: HostConfig,
    *,
    path: str = "/",
    fingerprint_sha256: str | None = None,
    now: dt.datetime | None = None,
) -> SessionCheck:
    """Verify a ``CF_Authorization`` token for ``host`` (None or empty: no session).

    Pass ``fingerprint_sha256`` when the request also presents a verified certificate: the
    token must have been issued for it. ``path`` decides :attr:`SessionCheck.applies`.
    """
    if not token:
        return SessionCheck()
    now = now or timezone.now()
    ring = keys.key_ring(now=now)
    try:
        claims = tokens.verify_token(
            token,
            keys=ring.verification_keys(now, keys.overlap()),
            audience=host.audience,
            issuer=token_issuer(),
            epoch=host.epoch,
            now=now,
            fingerprint_sha256=fingerprint_sha256,
        )
    except TokenError as exc:
        return SessionCheck(error=exc)
    applies = tokens.session_applies(host.policies, claims.policy_id, path)
    return SessionCheck(claims=claims, applies=applies)


def pass_to_application(request: HttpRequest, token: str) -> None:
    """Give the token to the application as ``Cf-Access-Jwt-Assertion``, replacing any copy
    the client sent (a client-supplied assertion must never reach the origin)."""
    request.META[ASSERTION_META] = token


def strip_client_assertion(request: HttpRequest) -> None:
    """Remove a ``Cf-Access-Jwt-Assertion`` the client sent itself."""
    request.META.pop(ASSERTION_META, None)


def set_session_cookie(response: HttpResponse, session: IssuedSession) -> None:
    """Send the session to the client, unless the policy says "No duration"."""
    if session.cookie_max_age <= 0:
        return
    response.set_cookie(
        COOKIE_NAME,
        session.token,
        max_age=session.cookie_max_age,
        path="/",
        secure=True,
        httponly=True,
        samesite="Lax",
    )


def clear_session_cookie(response: HttpResponse) -> None:
    """Expire the session cookie, with the attributes it was set with (Max-Age=0)."""
    response.set_cookie(
        COOKIE_NAME, "", max_age=0, path="/", secure=True, httponly=True, samesite="Lax"
    )


def is_xhr(request: HttpRequest) -> bool:
    """Requests from scripts get 401 instead of a page when their session is gone."""
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def refused_session_status(request: HttpRequest) -> int:
    """Status for a request refused because its session is invalid or expired."""
    return 401 if is_xhr(request) else 403
