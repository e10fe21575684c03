"""Setting up an operator's second factor: an authenticator app (TOTP, django-otp) and ten
one-time recovery codes for when the phone is lost.

The page is reached right after the first password sign-in while ACCESSCTL_REQUIRE_2FA is on
(the console lets such a session reach nothing else), and later from the user menu to make
new recovery codes or move to a new phone. The secret is shown as a QR code and as text; the
authenticator is kept only once a code made from it has been typed back, and the recovery
codes are shown once (only their use is stored, by django-otp).
"""

from __future__ import annotations

import base64
from typing import Any

import segno
from django import forms
from django.contrib.admin import AdminSite
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.base.conf import access_settings
from apps.console.login import has_second_factor, session_verified

AUTHENTICATOR = "Authenticator app"
RECOVERY = "Recovery codes"
RECOVERY_CODE_COUNT = 10
ENROL_TEMPLATE = "admin/console/second_factor.html"
CODES_TEMPLATE = "admin/console/recovery_codes.html"
CODES_TITLE = "Your recovery codes"
CODE_MISMATCH = "That code does not match: check the phone's clock and try the next one."


def is_operator(user: Any) -> bool:
    """Signed in, active and staff: who may use the console at all."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def enrolment_pending(request: HttpRequest) -> bool:
    """An operator signed in with the password alone, who must set up a second factor
    before anything else (ACCESSCTL_REQUIRE_2FA)."""
    user = request.user
    return (
        access_settings().require_2fa
        and is_operator(user)
        and not session_verified(request)
        and not has_second_factor(user)
    )


def pending_authenticator(user: AbstractBaseUser) -> TOTPDevice:
    """The operator's authenticator being set up (unconfirmed), made once: reloading the
    page shows the same secret."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)


@transaction.atomic
def new_recovery_codes(user: AbstractBaseUser) -> list[str]:
    """Ten fresh one-time recovery codes; the earlier ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        device.token_set.create(token=code)
    return codes


def authenticator_secret(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it typed in: base32, in groups of four."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def qr_code(device: TOTPDevice) -> str:
    """The ``otpauth://`` URL as an inline SVG QR code (no script, no style attribute)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4, border=2, light="#fff")


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _page(request: HttpRequest, site: AdminSite, template: str, **extra: Any) -> HttpResponse:
    # The site's context when the page is rendered: a session verified just now gets the
    # user menu.
    context = site.each_context(request)
    if not site.has_permission(request):
        # Not in the console yet: no side bar of pages that would only send it back here.
        context |= {"available_apps": [], "is_nav_sidebar_enabled": False}
    response = TemplateResponse(request, template, {**context, **extra})
    response["Cache-Control"] = "no-store"  # a secret or recovery codes may be on it
    return response


def second_factor_view(request: HttpRequest, site: AdminSite) -> HttpResponse:
    """GET: the QR code and the secret of a new authenticator (or, once set up, what is set
    up). POST ``code``: keep the authenticator, sign this session in with it, show the
    recovery codes. POST ``action=recovery-codes`` / ``action=replace`` (a verified session
    only): new recovery codes / a new authenticator."""
    user = request.user
    if not is_operator(user):
        return HttpResponseRedirect(reverse("admin:login") + f"?next={request.path}")
    assert isinstance(user, AbstractBaseUser)  # noqa: S101  is_operator: signed in
    verified = session_verified(request)
    if has_second_factor(user) and not verified:
        # Signed in before the second factor was set up elsewhere: sign in with it first.
        return HttpResponseRedirect(reverse("admin:login") + f"?next={request.path}")
    action = request.POST.get("action") if request.method == "POST" else None
    if verified and action == "recovery-codes":
        return _page(
            request, site, CODES_TEMPLATE, title=CODES_TITLE, codes=new_recovery_codes(user)
        )
    if verified and action == "replace":
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    elif verified and TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return _page(request, site, ENROL_TEMPLATE, title="Second factor", enrolled=True)
    device = pending_authenticator(user)
    form = CodeForm(request.POST if action is None and request.method == "POST" else None)
    if form.is_valid():
        if device.verify_token("".join(form.cleaned_data["code"].split())):
            with transaction.atomic():
                TOTPDevice.objects.filter(user=user, confirmed=True).delete()
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                codes = new_recovery_codes(user)
            otp_login(request, device)
            return _page(request, site, CODES_TEMPLATE, title=CODES_TITLE, codes=codes)
        form.add_error(
            "code", "That code does not match: check the app's clock and try the next one."
        )
    return _page(
        request,
        site,
        ENROL_TEMPLATE,
        title="Set up your second factor",
        form=form,
        qr_code=mark_safe(qr_code(device)),  # noqa: S308  made by segno from our own URL
        secret=authenticator_secret(device),
        required=access_settings().require_2fa,
    )
