"""`bootstrap_admin`: create the first administrator, once.

`make run` calls it on every start. The first time it creates a superuser and prints a
generated password exactly once (or uses ACCESSCTL_ADMIN_PASSWORD); afterwards it says there
is nothing to do. There is never a fixed default password.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.base.conf import access_settings

DEFAULT_USERNAME = "admin"


class Command(BaseCommand):
    """Create the first superuser if no administrator exists; otherwise do nothing."""

    help = (
        "Create the first administrator (ACCESSCTL_ADMIN_USERNAME, default 'admin') when none "
        "exists. The password is ACCESSCTL_ADMIN_PASSWORD, or a generated one printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--username",
            default=os.environ.get("ACCESSCTL_ADMIN_USERNAME") or DEFAULT_USERNAME,
            help="Username of the administrator (default: ACCESSCTL_ADMIN_USERNAME or 'admin').",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"].strip()
        if not username:
            raise CommandError("the administrator's username must not be empty", returncode=2)
        user_model = get_user_model()
        with transaction.atomic():
            existing = user_model.objects.filter(is_superuser=True, is_active=True)
            if existing.exists():
                names = ", ".join(sorted(existing.values_list("username", flat=True))[:3])
                self.stdout.write(f"An administrator already exists ({names}); nothing to do.")
                return
            if user_model.objects.filter(username=username).exists():
                raise CommandError(
                    f"user {username!r} exists but is not an active administrator; "
                    "set ACCESSCTL_ADMIN_USERNAME to another name",
                    returncode=2,
                )
            supplied = os.environ.get("ACCESSCTL_ADMIN_PASSWORD", "")
            password = supplied or secrets.token_urlsafe(18)
            user = user_model(username=username, is_staff=True, is_superuser=True)
            if supplied:
                try:
                    validate_password(supplied, user)
                except ValidationError as exc:
                    reason = " ".join(exc.messages)
                    raise CommandError(
                        f"ACCESSCTL_ADMIN_PASSWORD is too weak: {reason}", returncode=2
                    ) from None
            user.set_password(password)
            user.save()

        self.stdout.write(self.style.SUCCESS(f"Created administrator {username!r}."))
        if supplied:
            self.stdout.write("Password: the value of ACCESSCTL_ADMIN_PASSWORD.")
        else:
            # Shown once and never stored in clear: the operator copies it now or resets it
            # later with `accessctl changepassword`.
            self.stdout.write(f"Password: {password}")
            self.stdout.write("It is shown only this once; keep it or change it after logging in.")
        if access_settings().require_2fa:
            self.stdout.write(
                "At the first sign-in the console asks you to set up a second factor "
                "(an authenticator app)."
            )
