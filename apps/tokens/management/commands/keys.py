"""`accessctl keys list|rotate`: the token signing keys."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from apps.tokens import keys
from apps.tokens.models import SigningKey


class Command(BaseCommand):
    help = (
        "Token signing keys. `list` shows every key and its state; `rotate` makes a new key, "
        "published at once and signing 5 minutes later (`--now`: at once); the previous one "
        "stays accepted for ACCESSCTL_KEY_OVERLAP_DAYS after that (`--revoke-previous`: "
        "refused at once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{list,rotate}")
        listing = actions.add_parser("list", help="show the keys, newest first")
        listing.add_argument("--json", action="store_true", help="one JSON document")
        rotate = actions.add_parser(
            "rotate", help="make a new key; it signs after 5 minutes (published first)"
        )
        rotate.add_argument(
            "--now",
            action="store_true",
            help="sign with the new key at once (a leaked key, or an undecryptable one); "
            "origins that cached the key set may refuse new tokens for up to 5 minutes",
        )
        rotate.add_argument(
            "--revoke-previous",
            action="store_true",
            help="also stop accepting every older key at once (a leaked key): every session "
            "signed with one ends, clients present their certificate again; implies --now",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rotate":
            key = keys.signing_key_rotate(
                immediately=options["now"], revoke_previous=options["revoke_previous"]
            )
            self.stdout.write(
                f"New key {key.kid} (generation {key.generation}), signing from "
                f"{key.signs_from.isoformat()}."
            )
            if options["revoke_previous"]:
                self.stdout.write("Every older key is refused from now on.")
            return
        now = timezone.now()
        rows = [
            {
                "kid": row.kid,
                "generation": row.generation,
                "algorithm": row.algorithm,
                "state": row.state(now, keys.overlap()).value,
                "created_at": row.created_at.isoformat(),
                "signs_from": row.signs_from.isoformat(),
                "retired_at": row.retired_at.isoformat() if row.retired_at else None,
            }
            for row in SigningKey.objects.order_by("-generation")
        ]
        if options["json"]:
            self.stdout.write(json.dumps({"keys": rows}, indent=2))
            return
        if not rows:
            self.stdout.write("No signing key yet: one is created on first need.")
        for row in rows:
            self.stdout.write(
                f"{row['kid']}  {row['algorithm']}  {row['state']:<8}  "
                f"created {row['created_at']}  signs from {row['signs_from']}"
            )
