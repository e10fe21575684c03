"""Sessions on the request path: the step between the ruling and the response.

The middleware (and the forward-auth view) call :func:`session_step` with the ruling
``apps.gateway.decision.decide`` made from the certificate alone, and get back the final
ruling plus a :class:`SessionEffect` to apply to the request and the response:

- allowed by a certificate under an Allow / Non Identity policy → a new token, given to the
  application as ``Cf-Access-Jwt-Assertion`` and, unless the policy says "No duration", to
  the client as the ``CF_Authorization`` cookie. A cookie issued for *another* certificate
  than the one presented → 403 (the token is bound to its certificate, RFC 8705);
- no certificate at all, and a valid token that covers the path → allowed, identity from the
  token, which the application receives as ``Cf-Access-Jwt-Assertion``;
- no certificate and a token that is invalid (expired, tampered, wrong key or algorithm,
  another hostname, an older configuration) → 403, or 401 for ``XMLHttpRequest``, and the
  cookie is cleared;
- Bypass → no token; a ``Cf-Access-Jwt-Assertion`` sent by the client is always removed;
- an identity session (a person logged in, ``apps.identity``): the policies are evaluated
  again with the person the token carries and the certificate of this request, so a
  certificate that fails a certificate rule is refused whatever the session says, and a
  session bound to a certificate (``cnf``) is refused without it. The application also
  receives ``Cf-Access-Authenticated-User-Email``;
- an application that needs a login (``identity_required``) and no valid identity session →
  a browser is sent to the login page (``SessionEffect.login``), a script gets 401.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from django.http import HttpResponseBase
from django.utils import timezone

from accessctl.core.policy import Outcome, evaluate
from accessctl.core.reasons import Reason
from accessctl.core.request import Access, Ruling, Verdict
from accessctl.core.revocation import NO_REVOCATIONS
from accessctl.core.snapshot import ApplicationConfig
from accessctl.core.tokens import SessionClaims
from apps.gateway.http import GuardedRequest
from apps.tokens import sessions
from apps.tokens.keys import SigningKeyUnavailable


@dataclass(frozen=True, slots=True)
class SessionEffect:
    """What the session step does to the request and the response."""

    token: str | None = None  # for the application (Cf-Access-Jwt-Assertion)
    issued: sessions.IssuedSession | None = None  # a new session to send as the cookie
    clear_cookie: bool = False
    unauthorized: bool = False  # answer 401 instead of 403 (XMLHttpRequest, session gone)
    claims: SessionClaims | None = None  # the session that let the request through
    login: bool = False  # send the browser to the login page (identity_required)
    signed: sessions.IssuedSession | None = None  # the token issued, cookie or not

    def before_view(self, request: GuardedRequest) -> None:
        """Give the application the token; never the copy a client sent."""
        sessions.strip_client_assertion(request)
        if self.token is not None:
            sessions.pass_to_application(request, self.token)
        person = self.claims.person if self.claims is not None else None
        if person is not None:
            request.META[sessions.EMAIL_META] = person.email
        request.access_session = self.claims

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
        if self.claims is not None and self.claims.person is not None:
            response[sessions.EMAIL_HEADER] = self.claims.person.email


NO_EFFECT = SessionEffect()


def session_step(
    ruling: Ruling,
    *,
    path: str,
    cookies: Mapping[str, str],
    xhr: bool,
    now: dt.datetime | None = None,
    script: bool | None = None,
    ended: Collection[str] = (),
) -> tuple[Ruling, SessionEffect]:
    """Combine the certificate ruling with the request's session; see the module doc.

    ``script`` (default: ``xhr``) tells a request that gets 401 rather than the login page;
    ``ended`` holds the identity nonces of logins logged out."""
    if ruling.verdict not in {Verdict.ALLOW, Verdict.DENY}:
        return ruling, NO_EFFECT
    # The configuration that decided, not the current one (see Ruling.application).
    application = ruling.application
    if application is None:
        return ruling, NO_EFFECT
    now = now or timezone.now()
    token = cookies.get(sessions.COOKIE_NAME) or None
    try:
        if ruling.reason == Reason.IDENTITY_REQUIRED:
            return _needs_identity(
                ruling, application, token, path, xhr, now, xhr if script is None else script, ended
            )
        if ruling.verdict is Verdict.ALLOW:
            return _allowed(ruling, application, token, now)
        if ruling.certificate is not None or ruling.reason != Reason.CERTIFICATE_REQUIRED:
            # A certificate was presented and refused, or no policy covers the path: a
            # session does not override that.
            return ruling, NO_EFFECT
        return _without_certificate(ruling, application, token, path, xhr, now)
    except SigningKeyUnavailable as exc:
        # Never let a request through unsigned, nor refuse a valid session as invalid. The
        # access log's line says why (the detail); a backend outage is logged once elsewhere.
        failed = dataclasses.replace(
            ruling,
            verdict=Verdict.UNAVAILABLE,
            reason=Reason.SIGNING_KEY_UNAVAILABLE,
            access=None,
            detail=str(exc),
        )
        return failed, NO_EFFECT


def _identity_session(
    ruling: Ruling,
    application: ApplicationConfig,
    token: str | None,
    now: dt.datetime,
    ended: Collection[str],
) -> tuple[Ruling, SessionEffect] | None:
    """The ruling with the person of a valid identity session; None without one."""
    facts = ruling.facts
    if not token or facts is None:
        return None
    verified = facts.identity
    revocations = ruling.host_config.anchors.revocations if ruling.host_config else None
    check = sessions.session_check(
        token,
        application,
        fingerprint_sha256=verified.fingerprint_sha256 if verified else None,
        now=now,
        ended=ended,
        revocations=revocations or NO_REVOCATIONS,
    )
    claims = check.claims
    if claims is None or claims.person is None:
        if check.error is not None and check.error.reason in _IDENTITY_REFUSALS:
            refused = dataclasses.replace(
                ruling, verdict=Verdict.DENY, reason=check.error.reason, access=None
            )
            return refused, SessionEffect(clear_cookie=True)
        return None
    if claims.certificate_sha256 is not None and verified is None:
        # Bound to a certificate (cnf): the cookie alone is worth nothing. The access log
        # still names whose session it was.
        refused = _mismatch(ruling, "the session is bound to a certificate not presented")
        return dataclasses.replace(
            refused, facts=dataclasses.replace(facts, person=claims.person)
        ), NO_EFFECT
    person = claims.person
    facts = dataclasses.replace(facts, person=person)
    outcome = evaluate(application.policies, facts)
    detail = f"email={person.email} sub={claims.subject} jti={claims.token_id}"
    if not outcome.allowed:
        refused = dataclasses.replace(
            ruling,
            verdict=Verdict.DENY,
            reason=outcome.reason,
            outcome=outcome,
            detail=detail,
            facts=facts,
        )
        return refused, NO_EFFECT
    hostname = ruling.hostname or ""
    access = Access(
        hostname, verified, outcome.policy, outcome, ruling.request_id, application, person
    )
    allowed = dataclasses.replace(
        ruling,
        verdict=Verdict.ALLOW,
        reason=Reason.SESSION,
        access=access,
        outcome=outcome,
        detail=detail,
        facts=facts,
    )
    return allowed, SessionEffect(token=token, claims=claims)


# A refusal of an identity session that is final (403, the cookie cleared) rather than a new
# login: one bound to another certificate. Expired, stale or logged-out ones log in again.
_IDENTITY_REFUSALS = frozenset({Reason.TOKEN_CERT_MISMATCH})


def _needs_identity(
    ruling: Ruling,
    application: ApplicationConfig,
    token: str | None,
    path: str,
    xhr: bool,
    now: dt.datetime,
    script: bool,
    ended: Collection[str],
) -> tuple[Ruling, SessionEffect]:
    """An identity policy was reached without a login: the identity session decides, or a
    certificate session covering the path, or else the login page (401 for a script)."""
    identity = _identity_session(ruling, application, token, now, ended)
    if identity is not None:
        return identity
    if token and ruling.certificate is None:
        by_certificate = _without_certificate(ruling, application, token, path, xhr, now)
        if by_certificate[0].verdict is Verdict.ALLOW:
            return by_certificate
    return ruling, SessionEffect(
        clear_cookie=token is not None, unauthorized=script, login=not script
    )


def _mismatch(ruling: Ruling, detail: str) -> Ruling:
    """Refused: the session belongs to another certificate (or to one not presented)."""
    return dataclasses.replace(
        ruling, verdict=Verdict.DENY, reason=Reason.TOKEN_CERT_MISMATCH, access=None, detail=detail
    )


def _allowed(
    ruling: Ruling, application: ApplicationConfig, token: str | None, now: dt.datetime
) -> tuple[Ruling, SessionEffect]:
    access = ruling.access
    identity = access.identity if access else None
    outcome = ruling.outcome
    if identity is None or outcome is None:  # Bypass without a certificate: no session
        return ruling, NO_EFFECT
    check = sessions.session_check(
        token, application, fingerprint_sha256=identity.fingerprint_sha256, now=now
    )
    keep_cookie = check.claims is not None and check.claims.person is not None
    if check.error is not None and check.error.reason == Reason.TOKEN_CERT_MISMATCH:
        refused = _mismatch(ruling, "the session cookie belongs to another certificate")
        return refused, SessionEffect(clear_cookie=True)
    issued = sessions.session_issue(
        application=application, identity=identity, outcome=outcome, now=now
    )
    if issued is None:  # Bypass: no session, and an old cookie is left alone
        return ruling, NO_EFFECT
    # "No duration": the application gets the token, the client gets no cookie, and any
    # cookie it still holds from an earlier policy is cleared.
    if keep_cookie:
        # The cookie holds the person's identity session: the certificate's own token goes
        # to the application, the person keeps their login.
        return ruling, SessionEffect(token=issued.token)
    return ruling, SessionEffect(
        token=issued.token,
        issued=issued if issued.cookie_max_age > 0 else None,
        clear_cookie=issued.cookie_max_age == 0 and token is not None,
        signed=issued,
    )


def _without_certificate(
    ruling: Ruling,
    application: ApplicationConfig,
    token: str | None,
    path: str,
    xhr: bool,
    now: dt.datetime,
) -> tuple[Ruling, SessionEffect]:
    revocations = ruling.host_config.anchors.revocations if ruling.host_config else None
    check = sessions.session_check(
        token, application, path=path, now=now, revocations=revocations or NO_REVOCATIONS
    )
    if check.error is not None:
        refused = dataclasses.replace(ruling, reason=check.error.reason, detail=check.error.detail)
        return refused, SessionEffect(clear_cookie=True, unauthorized=xhr)
    claims = check.claims
    if claims is None or not check.applies:
        return ruling, NO_EFFECT
    policy = next(p for p in application.policies if p.id == claims.policy_id)
    outcome = Outcome(True, policy, None, Reason.SESSION)
    hostname = ruling.hostname or ""
    access = Access(hostname, None, policy, outcome, ruling.request_id, application)
    allowed = dataclasses.replace(
        ruling,
        verdict=Verdict.ALLOW,
        reason=Reason.SESSION,
        access=access,
        outcome=outcome,
        # The access log names the session's certificate and token.
        detail=f"sub={claims.subject} jti={claims.token_id}",
    )
    return allowed, SessionEffect(token=token, claims=claims)
