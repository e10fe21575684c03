"""The API's section of ``accessctl export``: the account id (so that a restored server answers
the same ``/client/v4/accounts/<id>/…``) and the API tokens' metadata (name, scope, created,
last used, expiry, revoked).

A token's secret is stored only as its SHA-256 digest; the digest is exported with secrets, so
a restored token authenticates as before. ``--without-secrets`` leaves the digests out: the
tokens come back revoked (under a digest of a secret nobody knows), and the import says so.
Each token's inactive ``api-token:<name>`` user, under which its changes are recorded, is made
again (or reused when an inactive one of that name is there without a token).

The account alone does not make a database "not empty": the server makes it on first need.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.api.models import ACTOR_PREFIX, TOKEN_BYTES, Account, ApiToken, secret_digest
from apps.base.portability import ExportOptions, ImportContext, Reader, Section, timestamp

VERSION = 1
_HEX = re.compile(r"[0-9a-f]{32}")
_DIGEST = re.compile(r"[0-9a-f]{64}")


def dump(options: ExportOptions) -> dict[str, Any]:
    """The account id and every token (revoked ones too), by name."""
    account = Account.objects.first()
    return {
        "account_id": account.id if account is not None else None,
        "api_tokens": [
            {
                "name": token.name,
                "read_only": token.read_only,
                "created_at": timestamp(token.created_at),
                "last_used_at": timestamp(token.last_used_at),
                "expires_at": timestamp(token.expires_at),
                "revoked_at": timestamp(token.revoked_at),
                **({"secret_sha256": token.secret_sha256} if options.secrets else {}),
            }
            for token in ApiToken.objects.order_by("name")
        ],
    }


def _actor(item: Reader, name: str) -> Any:
    users = get_user_model()
    username = f"{ACTOR_PREFIX}{name}"[:150]
    actor = users.objects.filter(username=username).first()
    if actor is None:
        actor = users.objects.create(username=username, is_active=False)
        actor.set_unusable_password()
        actor.save(update_fields=["password"])
    elif actor.is_active or ApiToken.objects.filter(actor=actor).exists():
        raise item.refuse(f"the user {username!r} exists already and is not a token's", "name")
    return actor


def load(reader: Reader, version: int, context: ImportContext) -> str | None:
    """Replace the account made on first need by the file's; restore each token."""
    account_id = reader.value.get("account_id") if isinstance(reader.value, dict) else None
    if account_id is not None:
        account_id = reader.text("account_id")
        if not _HEX.fullmatch(account_id):
            raise reader.refuse("expected 32 lowercase hex characters", "account_id")
        Account.objects.all().delete()
        Account.objects.create(id=account_id)
    now = timezone.now()
    names: set[str] = set()
    digests: set[str] = set()
    left_without_secret = 0
    for item in reader.items("api_tokens"):
        name = item.text("name").strip()
        if not name or len(name) > 100 or any(ord(ch) < 32 for ch in name):
            raise item.refuse("not a token name", "name")
        if name in names:
            raise item.refuse(f"a second token named {name!r}", "name")
        names.add(name)
        revoked_at = item.time("revoked_at")
        digest = item.text("secret_sha256") if "secret_sha256" in item.keys() else None
        if digest is None:
            if context.secrets:
                raise item.refuse("missing (a string expected)", "secret_sha256")
            # Nobody knows this secret: the token cannot authenticate.
            digest = secret_digest(secrets.token_urlsafe(TOKEN_BYTES))
            if revoked_at is None:
                revoked_at = now
                left_without_secret += 1
        elif not _DIGEST.fullmatch(digest):
            raise item.refuse("expected a SHA-256 digest (64 lowercase hex)", "secret_sha256")
        if digest in digests:
            raise item.refuse("the same secret as another token", "secret_sha256")
        digests.add(digest)
        token = ApiToken.objects.create(
            name=name,
            secret_sha256=digest,
            read_only=item.flag("read_only"),
            expires_at=item.time("expires_at"),
            last_used_at=item.time("last_used_at"),
            revoked_at=revoked_at,
            actor=_actor(item, name),
        )
        created_at = item.time("created_at")
        if created_at is not None:  # auto_now_add: set after the fact
            ApiToken.objects.filter(pk=token.pk).update(created_at=created_at)
    if left_without_secret:
        return (
            f"{left_without_secret} API token{'s' if left_without_secret != 1 else ''} "
            "restored revoked: the file was made --without-secrets; make new ones"
        )
    return None


def count() -> str:
    """``"2 API tokens"``, or empty (the account alone counts for nothing)."""
    held = ApiToken.objects.count()
    return f"{held} API token{'s' if held != 1 else ''}" if held else ""


SECTION = Section(name="api", version=VERSION, dump=dump, load=load, count=count)
