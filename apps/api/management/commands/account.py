"""`accessctl account`: the account id the API answers for, alone on standard output.

    curl -H "Authorization: Bearer $TOKEN" \
        http://127.0.0.1:8000/client/v4/accounts/$(accessctl account)/access/apps
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.api.models import Account


class Command(BaseCommand):
    help = "Print the account id of /client/v4/accounts/{account_id}/… (made once)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(Account.objects.current().id)
