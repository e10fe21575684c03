"""Writes of login methods: the one path for the dashboard, the command line and the API.

Each is all or nothing: a ``ValidationError`` keyed by field and nothing written. The client
secret is write-only: an update given none keeps the stored one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.identity.models import (
    DEFAULT_SCOPES,
    ApplicationLoginMethod,
    LoginMethod,
    LoginMethodType,
)
from apps.policies.models import Application

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


@transaction.atomic
def login_method_create(
    *,
    name: str,
    type: str = LoginMethodType.OIDC,
    issuer_url: str = "",
    client_id: str = "",
    client_secret: str = "",
    scopes: str = "",
    pkce_enabled: bool = True,
    email_claim_name: str = "email",
    groups_claim_name: str = "groups",
    auth_url: str = "",
    token_url: str = "",
    certs_url: str = "",
    enabled: bool = True,
    user: User | None = None,
) -> LoginMethod:
    """Validate and save a login method (OpenID Connect, or a one-time PIN, which takes only
    a name); raise ``ValidationError`` keyed by field and write nothing."""
    method = LoginMethod(
        name=name,
        type=type,
        issuer_url=issuer_url,
        client_id=client_id,
        scopes=scopes or DEFAULT_SCOPES,
        pkce_enabled=pkce_enabled,
        email_claim_name=email_claim_name,
        groups_claim_name=groups_claim_name,
        auth_url=auth_url,
        token_url=token_url,
        certs_url=certs_url,
        enabled=enabled,
        created_by=user,
        updated_by=user,
    )
    _save_checked(method, client_secret)
    logger.info("login method created id=%s name=%r", method.pk, method.name)
    return method


@transaction.atomic
def login_method_update(
    *,
    method: LoginMethod,
    name: str,
    issuer_url: str,
    client_id: str,
    client_secret: str = "",
    scopes: str = "",
    pkce_enabled: bool,
    email_claim_name: str,
    groups_claim_name: str,
    auth_url: str = "",
    token_url: str = "",
    certs_url: str = "",
    enabled: bool,
    user: User | None = None,
) -> LoginMethod:
    """Change every field of ``method``; an empty ``client_secret`` keeps the stored one.
    Raise ``ValidationError`` keyed by field and write nothing (``method`` may then hold the
    refused values in memory: read it again)."""
    method.name = name
    method.issuer_url = issuer_url
    method.client_id = client_id
    method.scopes = scopes or DEFAULT_SCOPES
    method.pkce_enabled = pkce_enabled
    method.email_claim_name = email_claim_name
    method.groups_claim_name = groups_claim_name
    method.auth_url = auth_url
    method.token_url = token_url
    method.certs_url = certs_url
    method.enabled = enabled
    method.updated_by = user
    _save_checked(method, client_secret)
    logger.info("login method changed id=%s name=%r", method.pk, method.name)
    return method


class LoginMethodInUse(ValidationError):
    """A login method some application offers or some Login method rule names: not deleted."""


@transaction.atomic
def login_method_delete(*, method: LoginMethod, user: User | None = None) -> None:
    """Delete ``method``; raise :class:`LoginMethodInUse` while an application offers it (an
    application offering it alone would silently offer every method instead) or a Login
    method rule names it (the rule would name nothing)."""
    uses = method.uses()
    if uses:
        raise LoginMethodInUse(
            f"The login method {method.name!r} is in use by {', '.join(uses)}: take it out of "
            "them first.",
            code="in_use",
        )
    pk, name = method.pk, method.name
    method.delete()
    logger.info(
        "login method deleted id=%s name=%r by=%s", pk, name, user.username if user else "-"
    )


def _save_checked(method: LoginMethod, client_secret: str) -> None:
    """Validate ``method`` (a new one needs a secret), seal the secret if one is given, save."""
    errors: dict[str, list[str]] = {}
    try:
        method.full_clean()
    except ValidationError as exc:
        errors = dict(exc.message_dict)
    if not client_secret and not method.has_client_secret and not method.is_one_time_pin:
        errors.setdefault("client_secret", []).append("A client secret is required.")
    if errors:
        raise ValidationError(errors)
    if client_secret and not method.is_one_time_pin:
        method.set_client_secret(client_secret)
    method.save()


@transaction.atomic
def application_set_login_methods(
    *, application: Application, methods: Sequence[LoginMethod]
) -> None:
    """The login methods ``application`` offers (empty: every enabled one)."""
    ApplicationLoginMethod.objects.filter(application=application).delete()
    ApplicationLoginMethod.objects.bulk_create(
        ApplicationLoginMethod(application=application, login_method=m) for m in methods
    )
