"""Sessions on the request path: the step between the access decision and the response.

The middleware (and the forward-auth view) call :func:`session_step` with the decision
``apps.gateway.decision.decide`` made from the certificate alone, and get back the final
decision plus a :class:`SessionEffect` to apply to the request and the response:

- allowed by a certificate under an Allow / Non Identity policy → a new token, given to the
  application as ``Cf-Access-Jwt-Assertion`` and, unless the policy says "No duration", to
  the client as the ``CF_Authorization`` cookie. A cookie issued for *another* certificate
  than the one presented → 403 (the token is bound to its certificate, RFC 8705);
- no certificate at all, and a valid token that covers the path → allowed, identity from the
  token, which the application receives as ``Cf-Access-Jwt-Assertion``;
- no certificate and a token that is invalid (expired, tampered, wrong key or algorithm,
  another hostname, an older configuration) → 403, or 401 for ``XMLHttpRequest``, and the
  cookie is cleared;
- Bypass → no token; a ``Cf-Access-Jwt-Assertion`` sent by the client is always removed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from accessctl.core.policy import Outcome
from accessctl.core.snapshot import HostConfig
from accessctl.core.tokens import SessionClaims
from apps.gateway.decision import Access, Decision, Verdict
from apps.tokens import sessions
from apps.tokens.keys import SigningKeyUnavailable

logger = logging.getLogger(__name__)

SESSION_REASON = "session"  # the access log's reason for a request let through by its token


@dataclass(frozen=True, slots=True)
class SessionEffect:
    """What the session step does to the request and the response."""

    token: str | None = None  # for the application (Cf-Access-Jwt-Assertion)
    issued: sessions.IssuedSession | None = None  # a new session to send as the cookie
    clear_cookie: bool = False
    unauthorized: bool = False  # answer 401 instead of 403 (XMLHttpRequest, session gone)
    claims: SessionClaims | None = None  # the session that let the request through

    def before_view(self, request: HttpRequest) -> None:
        """Give the application the token; never the copy a client sent."""
        sessions.strip_client_assertion(request)
        if self.token is not None:
            sessions.pass_to_application(request, self.token)
        request.access_session = self.claims  # type: ignore[attr-defined]

    def apply(self, response: HttpResponseBase) -> None:
        """Set or clear the cookie; turn a refusal into 401 for a script whose session ended."""
        if self.issued is not None:
            sessions.set_session_cookie(response, self.issued)
        elif self.clear_cookie:
            sessions.clear_session_cookie(response)
        if self.unauthorized and response.status_code == 403:
            response.status_code = 401
            response.reason_phrase = "Unauthorized"

    def apply_forward_auth(self, response: HttpResponseBase) -> None:
        """The forward-auth answer: the cookie, and the token for the proxy to pass upstream."""
        self.apply(response)
        if self.token is not None:
            response[sessions.ASSERTION_HEADER] = self.token


NO_EFFECT = SessionEffect()


def session_step(
    decision: Decision,
    *,
    path: str,
    cookies: Mapping[str, str],
    xhr: bool,
    now: dt.datetime | None = None,
) -> tuple[Decision, SessionEffect]:
    """Combine the certificate decision with the request's session; see the module doc."""
    if decision.verdict not in {Verdict.ALLOW, Verdict.DENY}:
        return decision, NO_EFFECT
    # The configuration that decided, not the current one (see Decision.host).
    host = decision.host
    if host is None:
        return decision, NO_EFFECT
    now = now or timezone.now()
    token = cookies.get(sessions.COOKIE_NAME) or None
    try:
        if decision.verdict is Verdict.ALLOW:
            return _allowed(decision, host, token, now)
        if decision.certificate is not None or decision.reason != "certificate_required":
            # A certificate was presented and refused, or no policy covers the path: a
            # session does not override that.
            return decision, NO_EFFECT
        return _without_certificate(decision, host, token, path, xhr, now)
    except SigningKeyUnavailable as exc:
        # Never let a request through unsigned, nor refuse a valid session as invalid.
        logger.error("sessions unavailable: %s", exc)
        failed = dataclasses.replace(
            decision,
            verdict=Verdict.UNAVAILABLE,
            reason="signing_key_unavailable",
            access=None,
            detail=str(exc),
        )
        return failed, NO_EFFECT


def _allowed(
    decision: Decision, host: HostConfig, token: str | None, now: dt.datetime
) -> tuple[Decision, SessionEffect]:
    access = decision.access
    identity = access.identity if access else None
    outcome = decision.outcome
    if identity is None or outcome is None:  # Bypass without a certificate: no session
        return decision, NO_EFFECT
    check = sessions.session_check(
        token, host, fingerprint_sha256=identity.fingerprint_sha256, now=now
    )
    if check.error is not None and check.error.reason == "token_cert_mismatch":
        refused = dataclasses.replace(
            decision,
            verdict=Verdict.DENY,
            reason="token_cert_mismatch",
            access=None,
            detail="the session cookie belongs to another certificate",
        )
        return refused, SessionEffect(clear_cookie=True)
    issued = sessions.session_issue(host=host, identity=identity, outcome=outcome, now=now)
    if issued is None:  # Bypass: no session, and an old cookie is left alone
        return decision, NO_EFFECT
    # "No duration": the application gets the token, the client gets no cookie, and any
    # cookie it still holds from an earlier policy is cleared.
    return decision, SessionEffect(
        token=issued.token,
        issued=issued if issued.cookie_max_age > 0 else None,
        clear_cookie=issued.cookie_max_age == 0 and token is not None,
    )


def _without_certificate(
    decision: Decision,
    host: HostConfig,
    token: str | None,
    path: str,
    xhr: bool,
    now: dt.datetime,
) -> tuple[Decision, SessionEffect]:
    check = sessions.session_check(token, host, path=path, now=now)
    if check.error is not None:
        refused = dataclasses.replace(
            decision, reason=check.error.reason, detail=check.error.detail
        )
        return refused, SessionEffect(clear_cookie=True, unauthorized=xhr)
    claims = check.claims
    if claims is None or not check.applies:
        return decision, NO_EFFECT
    policy = next(p for p in host.policies if p.id == claims.policy_id)
    outcome = Outcome(True, policy, None, SESSION_REASON)
    access = Access(host.hostname, None, policy, outcome, decision.request_id)
    allowed = dataclasses.replace(
        decision,
        verdict=Verdict.ALLOW,
        reason=SESSION_REASON,
        access=access,
        outcome=outcome,
        # The access log names the session's certificate and token.
        detail=f"sub={claims.subject} jti={claims.token_id}",
    )
    return allowed, SessionEffect(token=token, claims=claims)


def request_session_step(
    request: HttpRequest, decision: Decision
) -> tuple[Decision, SessionEffect]:
    """:func:`session_step` for a Django request (the middleware's call)."""
    return session_step(
        decision, path=request.path, cookies=request.COOKIES, xhr=sessions.is_xhr(request)
    )
