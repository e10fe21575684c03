"""The login pages on the authentication hostname (``ACCESSCTL_AUTH_HOSTNAME``).

- ``/cdn-cgi/access/login/<app hostname>?redirect_url=…``: the application's login methods
  (one OpenID Connect method: straight to it; a one-time PIN: its email form); a person with
  a valid global session goes straight back;
- ``/cdn-cgi/access/callback``: the identity provider's answer. State, nonce and PKCE are
  checked (Authlib), then :func:`sign_in`: the person is admitted when a policy could let
  them in; the global session is set here and the browser goes to the application's
  ``/cdn-cgi/access/authorized`` with a single-use code (``apps.tokens.handoff``).

The one-time PIN's pages are in ``apps.identity.pin_views`` and end with :func:`sign_in` too.
Every failure is a page of the product (``gateway/login_problem.html``), never a 500.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from joserfc.errors import JoseError

from accessctl.core.people import Person
from accessctl.core.policy import identity_admissible
from apps.base.conf import is_auth_host
from apps.base.sealing import SealError
from apps.gateway import config
from apps.identity import oidc
from apps.identity.flow import (
    LoginProblem,
    LoginTarget,
    lacks_compared_claims,
    login_target,
    person_from,
)
from apps.identity.forms import PinEmailForm
from apps.identity.models import LoginMethod
from apps.policies.models import Application
from apps.tokens import keys, sessions
from apps.tokens.handoff import Handoff, handoff_create

logger = logging.getLogger(__name__)

_PENDING = "accessctl-login:"  # session key prefix of a login under way, by state
_USED = "accessctl-logins-done"  # states already completed (a replayed callback is told so)
_USED_KEPT = 20

NO_ACCESS = LoginProblem(
    "That account does not have access",
    "You signed in, but no policy of this application lets this account in. Sign in with "
    "another account, or ask the application's administrator.",
    403,
)
REPLAYED = LoginProblem(
    "This sign-in was already completed",
    "The identity provider's answer was used once already. Open the application again.",
)
MISMATCH = LoginProblem(
    "This sign-in does not belong to this browser",
    "The answer from the identity provider does not match a sign-in started here (state "
    "mismatch). Open the application again to start over.",
)
EXPIRED = LoginProblem(
    "The sign-in took too long",
    "A sign-in must be completed within 10 minutes. Open the application again to start over.",
)
NO_METHOD = LoginProblem(
    "No login method is available",
    "This application offers no enabled login method. Ask its administrator to add one "
    "under Settings → Login methods.",
    503,
)


def _problem(request: HttpRequest, problem: LoginProblem) -> HttpResponse:
    response = render(
        request,
        "gateway/login_problem.html",
        {"title": problem.title, "message": problem.message, "again_url": problem.again_url},
        status=problem.status,
    )
    response["Cache-Control"] = "no-store"
    return response


_View = Callable[..., HttpResponseBase]


def login_page(view: _View) -> _View:
    """A page of the login flow: on the authentication hostname only (404 elsewhere), never
    cached, and a :class:`LoginProblem` raised in it (or a signing key that cannot be used)
    answered with a page of the product."""

    @functools.wraps(view)
    def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_auth_host(request.get_host()):
            raise Http404("the login pages are served on the authentication hostname")
        try:
            return view(request, *args, **kwargs)
        except LoginProblem as problem:
            return _problem(request, problem)
        except keys.SigningKeyUnavailable as exc:
            logger.error("login unavailable: %s", exc)
            return _problem(request, LoginProblem("Sign-in is unavailable", str(exc), 503))

    return never_cache(page)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a login page's form posted without its token (a page kept open
    for long, cookies refused) gets a page of the product; elsewhere, Django's own page."""
    if request.path.startswith("/cdn-cgi/access/"):
        problem = LoginProblem(
            "This form has expired",
            "The page was open for too long, or this browser refused its cookie. Open the "
            "application again to sign in (and allow cookies for this site).",
            403,
        )
        return _problem(request, problem)
    return django_csrf_failure(request, reason)


def offered_methods(target: LoginTarget) -> list[LoginMethod]:
    """The enabled login methods the application of ``target`` offers."""
    application = Application.objects.filter(pk=target.application.id).first()
    if application is None:
        return []
    return list(LoginMethod.objects.offered_by(application))


def _callback_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("identity:callback"))


def _ended() -> frozenset[str]:
    snapshot = config.current_snapshot()
    return snapshot.ended_sessions if snapshot is not None else frozenset()


@login_page
@require_GET
def login(request: HttpRequest, hostname: str) -> HttpResponseBase:
    """The login page of one application (see the module doc)."""
    target = login_target(hostname, request.GET.get("redirect_url", ""))
    methods = offered_methods(target)
    if not methods:
        raise NO_METHOD
    org = sessions.org_session_check(request.COOKIES.get(sessions.COOKIE_NAME), ended=_ended())
    offered = {str(m.pk) for m in methods}
    if org is not None and org.person is not None and org.person.login_method in offered:
        # Signed in already (the global session): no provider round trip, unless the
        # session lacks a claim this application's rules name (a login made before the
        # rule existed): then the provider is asked again.
        if identity_admissible(target.application.policies, org.person, target.path):
            return _hand_off(request, target, org.person, org.identity_nonce, None)
        if not lacks_compared_claims(org.person, target.application):
            raise NO_ACCESS
    chosen = request.GET.get("method", "")
    method = next((m for m in methods if str(m.pk) == chosen), None)
    if method is None and len(methods) == 1:
        method = methods[0]
    if method is None or method.is_one_time_pin:
        return choose(request, target, methods if method is None else [method])
    return _start(request, target, method)


def choose(
    request: HttpRequest,
    target: LoginTarget,
    methods: list[LoginMethod],
    pin_form: PinEmailForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The login page: a link for each OpenID Connect method, the email form of each one-time
    PIN method (``pin_form``: one sent back with its errors)."""
    base = reverse("identity:login", args=[target.hostname])
    choices = [
        (m.name, f"{base}?{urlencode({'redirect_url': target.redirect_url, 'method': m.pk})}")
        for m in methods
        if not m.is_one_time_pin
    ]
    send = reverse("identity:pin_send", args=[target.hostname])
    pins = [
        (
            pin_form
            if pin_form is not None and pin_form.data.get("method") == str(m.pk)
            else PinEmailForm(initial={"method": m.pk}),
            m,
        )
        for m in methods
        if m.is_one_time_pin
    ]
    context = {
        "application": target.application,
        "hostname": target.hostname,
        "choices": choices,
        "pins": pins,
        "pin_action": f"{send}?{urlencode({'redirect_url': target.redirect_url})}",
    }
    return render(request, "identity/login.html", context, status=status)


def _start(request: HttpRequest, target: LoginTarget, method: LoginMethod) -> HttpResponseBase:
    try:
        url, state = oidc.authorization_redirect(request, method, _callback_url(request))
    except (requests.RequestException, ValueError, KeyError, RuntimeError) as exc:
        logger.warning("login method %s unreachable or misconfigured: %s", method.pk, exc)
        raise _provider_down(method) from None
    except SealError as exc:
        logger.error("login method %s secret: %s", method.pk, exc)
        raise _misconfigured(method) from None
    request.session[_PENDING + state] = {
        "hostname": target.hostname,
        "redirect_url": target.redirect_url,
        "method": method.pk,
        "started": time.time(),
    }
    return redirect(url)


def _provider_down(method: LoginMethod) -> LoginProblem:
    return LoginProblem(
        f"{method.name} cannot be reached",
        "The identity provider did not answer, or answered with something that is not an "
        "OpenID provider's configuration. Try again in a moment; if it goes on, ask your "
        "administrator to check the login method.",
        502,
    )


def _misconfigured(method: LoginMethod) -> LoginProblem:
    return LoginProblem(
        f"{method.name} is not configured correctly",
        "The login method's settings were refused. Ask your administrator to check it under "
        "Settings → Login methods.",
        502,
    )


@login_page
@require_GET
def callback(request: HttpRequest) -> HttpResponseBase:
    """The identity provider's callback (see the module doc)."""
    state = request.GET.get("state", "")
    pending: Any = request.session.get(_PENDING + state) if state else None
    if not isinstance(pending, dict):
        raise once_used(request, state, REPLAYED, MISMATCH)
    del request.session[_PENDING + state]
    mark_used(request, state)
    target = login_target(pending["hostname"], pending["redirect_url"])
    try:
        if time.time() - float(pending["started"]) > oidc.LOGIN_SECONDS:
            raise EXPIRED
        # Still a method the application offers, and enabled (the operator may have changed
        # either since the login started), as the one-time PIN checks too.
        method = next(
            (m for m in offered_methods(target) if str(m.pk) == str(pending["method"])), None
        )
        if method is None:
            raise NO_METHOD
        return sign_in(request, target, person_from(method, _finish(request, method)))
    except LoginProblem as problem:
        raise problem.again(again_url(target)) from None


def once_used(
    request: HttpRequest, key: str, replayed: LoginProblem, mismatch: LoginProblem
) -> LoginProblem:
    """``replayed`` when this browser completed the login ``key`` (a state, a PIN challenge)
    already, else ``mismatch``: it was never started here."""
    return replayed if key and key in request.session.get(_USED, []) else mismatch


def mark_used(request: HttpRequest, key: str) -> None:
    """Remember that this browser completed the login ``key`` (the last few are kept)."""
    request.session[_USED] = [*request.session.get(_USED, []), key][-_USED_KEPT:]


def sign_in(request: HttpRequest, target: LoginTarget, person: Person) -> HttpResponseBase:
    """The end of every login, whatever the method: the person must be admissible (some
    policy could let them in, else "That account does not have access"); then the global
    session of the authentication hostname, and the browser back to the application."""
    if not identity_admissible(target.application.policies, person, target.path):
        logger.info("login refused: %s has no access to %s", person.email, target.hostname)
        raise NO_ACCESS
    nonce = secrets.token_urlsafe(16)
    org = sessions.org_session_issue(person=person, identity_nonce=nonce)
    return _hand_off(request, target, person, nonce, org)


def again_url(target: LoginTarget) -> str:
    """The login page of ``target``'s application (a "Sign in again" link)."""
    base = reverse("identity:login", args=[target.hostname])
    return f"{base}?{urlencode({'redirect_url': target.redirect_url})}"


def _finish(request: HttpRequest, method: LoginMethod) -> dict[str, Any]:
    error = request.GET.get("error")
    if error:
        # The provider said no (the person cancelled, or the client is refused).
        logger.info("login method %s answered %s", method.pk, error)
        raise LoginProblem(
            f"{method.name} did not sign you in",
            f"The identity provider answered {error!r}. Try again, or ask your administrator.",
            403,
        )
    try:
        return oidc.finish(request, method)
    except requests.RequestException as exc:
        logger.warning("login method %s unreachable: %s", method.pk, exc)
        raise _provider_down(method) from None
    except (AuthlibBaseError, JoseError, oidc.MissingIdToken, ValueError, KeyError) as exc:
        # Refused token exchange (a wrong secret, a replayed code, PKCE), an ID token that
        # does not verify (signature, issuer, audience, nonce): nobody is signed in.
        logger.warning("login method %s: login refused: %r", method.pk, exc)
        raise LoginProblem(
            "The sign-in could not be verified",
            "The identity provider's answer did not pass the checks (it may have been "
            "tampered with or replayed). Open the application again to start over.",
            403,
        ) from None
    except SealError as exc:
        logger.error("login method %s secret: %s", method.pk, exc)
        raise _misconfigured(method) from None


def _hand_off(
    request: HttpRequest,
    target: LoginTarget,
    person: Person,
    nonce: str,
    org: sessions.IssuedSession | None,
) -> HttpResponseBase:
    """Back to the application, through its own hostname's ``/cdn-cgi/access/authorized``."""
    code = handoff_create(
        Handoff(
            person=person,
            identity_nonce=nonce,
            audience=target.application.audience,
            hostname=target.hostname,
            redirect_url=target.redirect_url,
        )
    )
    back = urlsplit(target.redirect_url)
    response = redirect(
        f"{back.scheme}://{back.netloc}{reverse('access:authorized')}?{urlencode({'code': code})}"
    )
    if org is not None:
        sessions.set_session_cookie(response, org)
    return response
