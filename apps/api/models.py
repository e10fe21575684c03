"""The account the API answers for, and the tokens that may call it."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

ACCOUNT_ID_BYTES = 16  # 32 hex characters, as Cloudflare's account ids
TOKEN_BYTES = 30  # 40 URL-safe characters, as long as Cloudflare's API tokens
ACTOR_PREFIX = "api-token:"  # the username under which a token's changes are recorded


def new_account_id() -> str:
    """A fresh account id: random, made once."""
    return secrets.token_hex(ACCOUNT_ID_BYTES)


def secret_digest(secret: str) -> str:
    """What is stored of a token's secret. The secret is 240 random bits, so a plain SHA-256
    is as good as a slow hash against guessing, and costs a request nothing."""
    return hashlib.sha256(secret.encode()).hexdigest()


class AccountQuerySet(models.QuerySet["Account"]):
    def current(self) -> Account:
        """The one account, made (with its id) the first time it is asked for."""
        account, _ = self.get_or_create(singleton=True)
        return account


class Account(models.Model):
    """The single account accessctl answers for: ``/client/v4/accounts/{id}/…``. Any other
    account id is unknown (404). Its id is generated once and never changes."""

    id = models.CharField(primary_key=True, max_length=32, default=new_account_id, editable=False)
    singleton = models.BooleanField(default=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    objects = AccountQuerySet.as_manager()

    class Meta:
        verbose_name = "account"

    def __str__(self) -> str:
        return self.id


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def for_secret(self, secret: str) -> ApiToken | None:
        """The token whose secret this is (revoked or expired ones too), or None."""
        return self.select_related("actor").filter(secret_sha256=secret_digest(secret)).first()


class ApiToken(models.Model):
    """A bearer token for the API (``Authorization: Bearer …``).

    Only a digest of the secret is stored; the secret is shown once, when the token is made.
    A read-only token may list and get, not change. Changes made with a token are recorded
    under its ``actor``: an inactive user named ``api-token:<name>`` that cannot sign in, so
    the dashboard's created by / updated by columns and its history name the token.
    """

    name = models.CharField(max_length=100, unique=True)
    secret_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    read_only = models.BooleanField(
        "Read only", default=False, help_text="May list and get, not create, change or delete."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    last_used_at = models.DateTimeField("Last used", null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(
        "Expires", null=True, blank=True, help_text="Empty: the token does not expire."
    )
    revoked_at = models.DateTimeField("Revoked", null=True, blank=True, editable=False)
    actor = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_token", editable=False
    )
    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def scope(self) -> str:
        """``read`` or ``edit``, as the list pages show it."""
        return "read" if self.read_only else "edit"

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def is_valid(self, now: dt.datetime | None = None) -> bool:
        """Neither revoked nor expired."""
        return not self.is_revoked() and not self.is_expired(now)

    def status(self, now: dt.datetime | None = None) -> str:
        if self.is_revoked():
            return "revoked"
        return "expired" if self.is_expired(now) else "active"
