"""`accessctl second_factor status|reset USERNAME`: an operator's second factor.

    accessctl second_factor status admin   # authenticator set up? recovery codes left?
    accessctl second_factor reset admin    # lost phone and codes: set it up again at sign-in

A reset removes the operator's authenticator and recovery codes and ends nothing else; at the
next sign-in (password alone) the console asks them to set up a new one. Unknown users are
refused in one line with exit code 2.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.base.cli import bad_input


class Command(BaseCommand):
    help = "Show or reset an operator's second factor (authenticator app and recovery codes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["status", "reset"])
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise bad_input(f"no user {options['username']!r}")
        if options["action"] == "reset":
            with transaction.atomic():
                TOTPDevice.objects.filter(user=user).delete()
                StaticDevice.objects.filter(user=user).delete()
            self.stdout.write(
                f"Removed the authenticator app and recovery codes of {user.get_username()}; "
                "they set up new ones at their next sign-in."
            )
            return
        authenticator = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        codes = StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
        self.stdout.write(
            f"{user.get_username()}: authenticator app {'set up' if authenticator else 'none'}; "
            f"{codes} recovery code(s) left"
        )
