"""Operators for the dashboard tests."""

from __future__ import annotations

from django.contrib.auth.models import Permission


def with_perms(user, *codenames):
    """The user with these permissions added, reloaded so no permission cache is stale."""
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)


def with_authenticator(user):
    """A confirmed authenticator app (TOTP) for ``user``, as the Second factor page leaves it."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def current_code(device) -> str:
    """The code an authenticator app shows now for ``device``'s secret (django-otp's own
    RFC 6238 computation, from the key alone)."""
    from django_otp.oath import TOTP

    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def sent_to_login(response) -> bool:
    """The dashboard's answer to someone not signed in: a redirect to its sign-in page."""
    from django.urls import reverse

    return response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
