"""Signing in to the console: the password, then the second factor, with failed attempts
counted per username (django-axes) so that neither can be guessed at speed.

- An operator with a confirmed authenticator (or recovery codes) gives a code with the
  password, every time; the session is then *verified* (``request.user.is_verified()``).
- An operator without one signs in with the password alone; while ACCESSCTL_REQUIRE_2FA is
  on, such a session reaches nothing but the page that sets one up
  (:mod:`apps.console.second_factor`).
- A wrong password or code counts as a failure of that username. After
  ACCESSCTL_LOGIN_FAILURE_LIMIT of them the username is locked out for
  ACCESSCTL_LOGIN_LOCKOUT_MINUTES, with a message that says so and how to lift it.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django_otp import devices_for_user, match_token

LOCKED_OUT = (
    "Too many failed sign-ins for this username: it is locked for {minutes} minutes. An "
    "administrator can lift the lockout at once with `accessctl axes_reset_username {name}`."
)
CODE_NEEDED = "Enter the 6-digit code from your authenticator app, or one of your recovery codes."
CODE_WRONG = "That code is not valid (or was used already); try the current one."


def session_verified(request: HttpRequest) -> bool:
    """Whether this session signed in with its second factor (django-otp's OTPMiddleware
    gives ``request.user`` an ``is_verified``)."""
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def has_second_factor(user: Any) -> bool:
    """Whether the operator has a confirmed authenticator or recovery codes."""
    return any(True for _ in devices_for_user(user, confirmed=True))


class ConsoleLoginForm(AdminAuthenticationForm):
    """Django's admin login form, with the authentication code and the lockout."""

    otp_token = forms.CharField(
        label="Authentication code",
        required=False,
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autocapitalize": "off"}
        ),
        help_text="From your authenticator app, or a recovery code. Leave empty if you have "
        "not set up a second factor yet.",
    )

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        credentials = {"username": username}
        if self.request is not None and not AxesProxyHandler.is_allowed(self.request, credentials):
            raise ValidationError(
                LOCKED_OUT.format(minutes=settings.ACCESSCTL_LOGIN_LOCKOUT_MINUTES, name=username),
                code="locked_out",
            )
        cleaned = super().clean()  # a wrong password is counted by axes (user_login_failed)
        user = self.get_user()
        if user is not None and has_second_factor(user):
            self._check_code(user, credentials)
        return cleaned

    def _check_code(self, user: Any, credentials: dict[str, str]) -> None:
        token = "".join((self.cleaned_data.get("otp_token") or "").split())
        device = match_token(user, token) if token else None
        if device is None:
            # Counted as a failed sign-in, as a wrong password is: codes are not guessable
            # at speed either.
            user_login_failed.send(sender=__name__, credentials=credentials, request=self.request)
            raise ValidationError(
                {"otp_token": CODE_WRONG if token else CODE_NEEDED}, code="invalid_code"
            )
        # django-otp marks the session verified when Django logs this user in.
        user.otp_device = device
