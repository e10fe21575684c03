"""Making, using and revoking API tokens: the one way the dashboard and the command do it."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accessctl.core.pem import contains_private_key
from apps.api.models import ACTOR_PREFIX, TOKEN_BYTES, ApiToken, secret_digest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger("accessctl.api")

# How often a token's "last used" is written: at most once a minute per token.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def token_field_errors(*, name: str, expires_at: dt.datetime | None) -> dict[str, list[str]]:
    """What is wrong with a new token's name and expiry, by field (empty when nothing is):
    the dashboard's form shows these next to the fields, the command on one line."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["A name is required."]
    elif len(name) > 100:
        errors["name"] = ["At most 100 characters."]
    elif contains_private_key(name) or any(ord(ch) < 32 for ch in name):
        errors["name"] = ["The name holds characters a name cannot have."]
    elif ApiToken.objects.filter(name=name).exists():
        errors["name"] = [f"A token named {name!r} already exists (revoked ones keep their name)."]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = ["The expiry is in the past."]
    return errors


@transaction.atomic
def api_token_create(
    *,
    name: str,
    read_only: bool = False,
    expires_at: dt.datetime | None = None,
    user: User | None = None,
) -> tuple[ApiToken, str]:
    """A new token and its secret (shown once; only its digest is stored).

    Raises ``ValidationError`` keyed ``name`` / ``expires_at`` and writes nothing on error.
    """
    name = (name or "").strip()
    errors = token_field_errors(name=name, expires_at=expires_at)
    if errors:
        raise ValidationError(errors)
    users = get_user_model()
    actor = users.objects.create(username=f"{ACTOR_PREFIX}{name}"[:150], is_active=False)
    actor.set_unusable_password()
    actor.save(update_fields=["password"])
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken.objects.create(
        name=name,
        secret_sha256=secret_digest(secret),
        read_only=read_only,
        expires_at=expires_at,
        created_by=user,
        actor=actor,
    )
    logger.info(
        "api token created name=%r scope=%s by=%s",
        name,
        token.scope,
        user.get_username() if user is not None else "-",
    )
    return token, secret


def api_token_revoke(*, token: ApiToken, user: User | None = None) -> ApiToken:
    """Revoke a token for good: it is refused from the next request on."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        logger.info(
            "api token revoked name=%r by=%s",
            token.name,
            user.get_username() if user is not None else "-",
        )
    return token


def api_token_used(token: ApiToken, now: dt.datetime | None = None) -> None:
    """Record that the token was used, at most once per :data:`LAST_USED_RESOLUTION`."""
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
