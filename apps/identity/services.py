"""Writes of login methods, shared by the command line (the dashboard uses its forms)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.identity.models import ApplicationLoginMethod, LoginMethod, LoginMethodType
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
    user: User | None = None,
) -> LoginMethod:
    """Validate and save a login method (OpenID Connect, or a one-time PIN, which takes only
    a name); raise ``ValidationError`` keyed by field and write nothing."""
    method = LoginMethod(
        name=name,
        type=type,
        issuer_url=issuer_url,
        client_id=client_id,
        scopes=scopes or LoginMethod._meta.get_field("scopes").get_default(),
        pkce_enabled=pkce_enabled,
        email_claim_name=email_claim_name,
        groups_claim_name=groups_claim_name,
        auth_url=auth_url,
        token_url=token_url,
        certs_url=certs_url,
        created_by=user,
        updated_by=user,
    )
    errors: dict[str, list[str]] = {}
    try:
        method.full_clean()
    except ValidationError as exc:
        errors = dict(exc.message_dict)
    if not client_secret and not method.is_one_time_pin:
        errors.setdefault("client_secret", []).append("A client secret is required.")
    if errors:
        raise ValidationError(errors)
    if client_secret and not method.is_one_time_pin:
        method.set_client_secret(client_secret)
    method.save()
    logger.info("login method created id=%s name=%r", method.pk, method.name)
    return method


@transaction.atomic
def application_set_login_methods(
    *, application: Application, methods: Sequence[LoginMethod]
) -> None:
    """The login methods ``application`` offers (empty: every enabled one)."""
    ApplicationLoginMethod.objects.filter(application=application).delete()
    ApplicationLoginMethod.objects.bulk_create(
        ApplicationLoginMethod(application=application, login_method=m) for m in methods
    )
