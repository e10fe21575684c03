"""The one-time PIN's pages on the authentication hostname (``apps.identity.pins``).

- ``POST /cdn-cgi/access/pin/<app hostname>?redirect_url=…``: an address from the login
  page's "Email me a code" form. Requests are counted (too many: 429). A code is made every
  time, but mailed only when some policy of the application could let that address in; the
  next page says the same either way, and as fast (the mail is only queued for
  ``apps.identity.pin_mailer``'s thread), so the form tells nobody which addresses may sign
  in.
- ``GET|POST /cdn-cgi/access/pin``: the code form, for the code this browser asked for (its
  challenge is kept in the session of the authentication hostname). A correct code ends as an
  OpenID Connect callback does (:func:`apps.identity.views.sign_in`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accessctl.core.policy import identity_admissible
from apps.gateway.decision import incoming
from apps.gateway.logging import client_ip
from apps.identity import pins
from apps.identity.flow import LoginProblem, LoginTarget, login_target, pin_person
from apps.identity.forms import PinCodeForm, PinEmailForm
from apps.identity.models import LoginMethod
from apps.identity.pin_mailer import PinMail, pin_mailer
from apps.identity.views import (
    NO_METHOD,
    again_url,
    choose,
    login_page,
    mark_used,
    offered_methods,
    once_used,
    sign_in,
)

logger = logging.getLogger(__name__)

_PENDING = "accessctl-pin"  # the session key of the code this browser asked for

NOT_HERE = LoginProblem(
    "This sign-in does not belong to this browser",
    "No code was asked for in this browser (or it was asked for in another one). Open the "
    "application again to ask for a code.",
)
TOO_MANY = LoginProblem(
    "Too many codes asked for",
    f"No more codes are sent to this address, or from your network, for now. Use the code "
    f"already sent, or wait {pins.WINDOW.seconds // 60} minutes and try again.",
    429,
)
USED = LoginProblem(
    "This code was already used",
    "A code signs in once. Open the application again to sign in.",
)
EXPIRED = LoginProblem(
    "The code has expired",
    f"A code is valid for {pins.CODE_SECONDS // 60} minutes. Ask for a new one.",
)
REPLACED = LoginProblem(
    "This code is no longer valid",
    "A newer code was asked for this address, or this one expired. Use the code of the "
    "latest email, or ask for a new one.",
)
UNDER_ATTACK = LoginProblem(
    "Too many wrong codes lately",
    f"Too many wrong codes were typed for this sign-in method lately, so it sends no code "
    f"for now. Try again later (within {pins.BUDGET_WINDOW.seconds // 60} minutes).",
    429,
)
TRY_LATER = (
    "Too many wrong codes were typed for this sign-in method lately: no new code can be "
    "asked for now, try again later."
)
EXHAUSTED = LoginProblem(
    "Too many wrong codes",
    "That code can no longer be used. Ask for a new one to sign in.",
    403,
)

_PROBLEMS = {
    pins.Checked.USED: USED,
    pins.Checked.EXHAUSTED: EXHAUSTED,
    pins.Checked.EXPIRED: EXPIRED,
    pins.Checked.UNKNOWN: REPLACED,  # deleted: expired, or a newer code was issued
}


def _pin_method(target: LoginTarget, method_id: object) -> LoginMethod:
    method = next(
        (m for m in offered_methods(target) if m.is_one_time_pin and str(m.pk) == method_id),
        None,
    )
    if method is None:
        raise NO_METHOD
    return method


@login_page
@require_POST
def pin_send(request: HttpRequest, hostname: str) -> HttpResponseBase:
    """Count the request, make a code, queue its mail when the address is admissible (see
    the module doc), and go on to the code form."""
    target = login_target(hostname, request.GET.get("redirect_url", ""))
    method = _pin_method(target, request.POST.get("method"))
    form = PinEmailForm(request.POST)
    if not form.is_valid():
        return choose(request, target, offered_methods(target), form, status=400)
    email = form.cleaned_data["email"]
    now = timezone.now()
    client = client_ip(incoming(request, host=request.get_host(), path=request.path))
    if pins.pin_budget_spent(method=method, now=now):
        logger.info("one-time PIN refused: method %s is over its wrong-code budget", method)
        raise UNDER_ATTACK.again(again_url(target))
    if not pins.pin_request_allow(email=email, client=client, now=now):
        logger.info("one-time PIN refused: too many requests for %s or from %s", email, client)
        raise TOO_MANY.again(again_url(target))
    challenge, code = pins.pin_issue(method=method, email=email, now=now)
    person = pin_person(method, email)
    if identity_admissible(target.application.policies, person, target.path):
        pin_mailer.send(
            PinMail(
                to=email, code=code, application=target.application.name, hostname=target.hostname
            )
        )
        logger.info("one-time PIN queued for %s for %s", email, target.hostname)
    else:
        logger.info("one-time PIN not mailed: %s has no access to %s", email, target.hostname)
    request.session[_PENDING] = {
        "challenge": str(challenge.pk),
        "email": email,
        "hostname": target.hostname,
        "redirect_url": target.redirect_url,
    }
    return redirect("identity:pin_code")


def _code_page(
    request: HttpRequest, pending: dict[str, Any], form: PinCodeForm, status: int = 200
) -> HttpResponse:
    context = {"email": pending["email"], "form": form, "minutes": pins.CODE_SECONDS // 60}
    return render(request, "identity/pin_code.html", context, status=status)


def _spent(checked: pins.PinCheck) -> bool:
    challenge = checked.challenge
    return challenge is not None and pins.pin_budget_spent(
        method=challenge.login_method, now=timezone.now()
    )


@login_page
@require_http_methods(["GET", "POST"])
def pin_code(request: HttpRequest) -> HttpResponseBase:
    """The code form; a correct code signs the person in (see the module doc)."""
    pending: Any = request.session.get(_PENDING)
    asked = isinstance(pending, dict)
    if request.method == "GET":
        if not asked:
            raise NOT_HERE
        return _code_page(
            request, pending, PinCodeForm(initial={"challenge": pending["challenge"]})
        )
    form = PinCodeForm(request.POST)
    challenge_id = str(request.POST.get("challenge", ""))
    if not asked or pending["challenge"] != challenge_id:
        raise once_used(request, challenge_id, USED, NOT_HERE)
    target = login_target(pending["hostname"], pending["redirect_url"])
    if not form.is_valid():
        return _code_page(request, pending, form, status=400)
    checked = pins.pin_check(
        challenge_id=challenge_id, code=form.cleaned_data["code"], now=timezone.now()
    )
    if checked.result is pins.Checked.WRONG:
        form.add_error(
            "code",
            f"That code is not right. {checked.attempts_left} attempt"
            f"{'s' if checked.attempts_left != 1 else ''} left.",
        )
        if _spent(checked):
            form.add_error("code", TRY_LATER)
        form.forget_code()
        return _code_page(request, pending, form, status=400)
    del request.session[_PENDING]
    if checked.result is not pins.Checked.CORRECT or checked.challenge is None:
        problem = _PROBLEMS[checked.result]
        if checked.result is pins.Checked.EXHAUSTED and _spent(checked):
            problem = UNDER_ATTACK  # "ask for a new one" would not work for now
        raise problem.again(again_url(target))
    mark_used(request, challenge_id)
    # Still a method the application offers, and enabled (the operator may have changed it
    # since the code was mailed).
    method = _pin_method(target, str(checked.challenge.login_method_id))
    try:
        return sign_in(request, target, pin_person(method, checked.challenge.email))
    except LoginProblem as problem:
        raise problem.again(again_url(target)) from None
