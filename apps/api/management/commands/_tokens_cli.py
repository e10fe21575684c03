"""The implementation of `accessctl api-tokens add|list|revoke` (the command's module name
has a hyphen; ``api-tokens.py`` only imports this).

    accessctl api-tokens add --name terraform            # the secret, alone on its line
    accessctl api-tokens add --name monitoring --read-only --expires 2027-01-01
    accessctl api-tokens list [--json]
    accessctl api-tokens revoke terraform
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from apps.api.models import ApiToken
from apps.api.tokens import api_token_create, api_token_revoke
from apps.base.cli import bad_input, one_line


def as_dict(token: ApiToken) -> dict[str, Any]:
    """The JSON shape of one token (never its secret, which is not stored)."""

    def when(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "name": token.name,
        "scope": token.scope,
        "status": token.status(),
        "created_at": when(token.created_at),
        "last_used_at": when(token.last_used_at),
        "expires_at": when(token.expires_at),
        "revoked_at": when(token.revoked_at),
    }


def _expiry(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise bad_input(f"--expires: {text!r} is not a date (YYYY-MM-DD or ISO 8601).") from None
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)


class Command(BaseCommand):
    help = "Add, list and revoke API tokens for /client/v4 (the secret is printed once)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        add = sub.add_parser("add", help="make a token and print its secret once")
        add.add_argument("--name", required=True, help="a name for the token, unique")
        add.add_argument("--read-only", action="store_true", help="may list and get only")
        add.add_argument("--expires", metavar="DATE", help="when it stops working (ISO 8601)")
        listing = sub.add_parser("list", help="list tokens (name, scope, dates)")
        listing.add_argument("--json", action="store_true", help="print a JSON array")
        revoke = sub.add_parser("revoke", help="revoke a token by name, for good")
        revoke.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            try:
                token, secret = api_token_create(
                    name=options["name"],
                    read_only=options["read_only"],
                    expires_at=_expiry(options["expires"]),
                )
            except ValidationError as exc:
                raise bad_input(one_line(exc)) from None
            self.stderr.write(
                f"Created API token {token.name!r} ({token.scope}). Its secret, shown only "
                "this once:"
            )
            self.stdout.write(secret)
        elif action == "list":
            tokens = list(ApiToken.objects.all())
            if options["json"]:
                self.stdout.write(json.dumps([as_dict(t) for t in tokens], indent=2))
                return
            for token in tokens:
                row = as_dict(token)
                self.stdout.write(
                    f"{token.name}\t{row['scope']}\t{row['status']}\tcreated "
                    f"{row['created_at']}\tlast used {row['last_used_at'] or 'never'}\t"
                    f"expires {row['expires_at'] or 'never'}"
                )
        else:
            found = ApiToken.objects.filter(name=options["name"]).first()
            if found is None:
                raise bad_input(f"No API token named {options['name']!r}.")
            api_token_revoke(token=found)
            self.stdout.write(f"Revoked API token {found.name!r}.")
