"""``accounts/{account_id}/access/identity_providers``: Settings → Login methods, as
Cloudflare's API (``type: "oidc"``, its generic OpenID Connect ``config``; ``type:
"onetimepin"``, the one-time PIN by email, with an empty ``config``).

Writes go through the identity app's services (``apps.identity.services``), the dashboard's
and the command line's path. What accessctl adds to Cloudflare's ``config``, and what it
refuses rather than drop, is in docs/api.md (Identity providers): ``issuer_url`` is required
(ID tokens are checked against it), ``groups_claim_name`` and the top-level ``enabled`` are
optional, the client secret is write-only (never in an answer; a PUT without one keeps it),
``claims`` must be empty, and any other ``config`` key with a value is refused.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import BaseModel, ConfigDict, Field

from apps.api.audit import ADDED, CHANGED, DELETED, record
from apps.api.auth import token_of
from apps.api.envelope import CODE_CONFLICT, ApiError, Envelope, invalid, ok, paginate
from apps.api.routers.common import Deleted, Page, api_write, no_login_method_notes, one_by_id
from apps.identity.models import OIDC_FIELDS, LoginMethod, LoginMethodType
from apps.identity.services import (
    LoginMethodInUse,
    login_method_create,
    login_method_delete,
    login_method_update,
)

router = Router(tags=["Access identity providers"])

OIDC = LoginMethodType.OIDC.value
PIN = LoginMethodType.ONETIMEPIN.value
TYPES = (OIDC, PIN)
LABELS = {field: f"config.{field}" for field in OIDC_FIELDS}
NO_ISSUER = (
    "config.issuer_url: accessctl needs the provider's issuer URL: ID tokens must carry it as "
    "their iss, and its discovery document (/.well-known/openid-configuration) gives the "
    "other URLs unless auth_url, token_url and certs_url are all set."
)
NO_CLAIMS = (
    "config.claims: accessctl passes no custom claims through: leave it empty. An OIDC claim "
    "rule's claim is carried in the session without being listed here."
)


class OidcConfigIn(BaseModel):
    """Cloudflare's generic OpenID Connect ``config``, with accessctl's ``issuer_url`` and
    ``groups_claim_name``. Other keys are accepted only empty (a client sending every
    provider's fields, unset): one with a value is refused, never dropped. (A plain pydantic
    model: django-ninja's Schema reads attributes and would lose the extra keys.)"""

    model_config = ConfigDict(extra="allow")

    issuer_url: str | None = Field(None, max_length=2000)
    auth_url: str | None = Field(None, max_length=2000)
    token_url: str | None = Field(None, max_length=2000)
    certs_url: str | None = Field(None, max_length=2000)
    client_id: str | None = Field(None, max_length=2000)
    client_secret: str | None = Field(None, max_length=1000)
    scopes: list[str] | None = Field(None, max_length=100)
    pkce_enabled: bool | None = None
    email_claim_name: str | None = Field(None, max_length=2000)
    groups_claim_name: str | None = Field(None, max_length=2000)
    claims: list[str] | None = Field(None, max_length=100)


class ScimConfigIn(Schema):
    """Cloudflare's SCIM settings: accessctl has no SCIM, so only ``enabled: false``."""

    enabled: bool | None = None


class IdentityProviderIn(Schema):
    """An identity provider as Cloudflare's API takes it (create and PUT)."""

    name: str = Field(max_length=10_000)
    type: str = Field(max_length=100)
    config: OidcConfigIn
    scim_config: ScimConfigIn | None = None
    enabled: bool | None = None  # accessctl's own: absent, a new method is enabled, a PUT keeps it


class OidcConfigOut(Schema):
    """The ``config`` answered: never the client secret."""

    issuer_url: str
    auth_url: str | None
    token_url: str | None
    certs_url: str | None
    client_id: str
    scopes: list[str]
    pkce_enabled: bool
    email_claim_name: str
    groups_claim_name: str | None
    claims: list[str]


class PinConfigOut(Schema):
    """A one-time PIN method has no settings (Cloudflare answers ``{}`` too)."""


class IdentityProviderOut(Schema):
    id: str
    name: str
    type: str
    config: OidcConfigOut | PinConfigOut
    enabled: bool


class ProviderFilters(Schema):
    """Cloudflare's ``scim_enabled`` filter: accessctl has no SCIM, so ``true`` lists none."""

    scim_enabled: str | None = Field(None, max_length=10)


def provider_out(method: LoginMethod) -> dict[str, Any]:
    shown = {"id": str(method.pk), "name": method.name, "type": method.type}
    if method.is_one_time_pin:
        return shown | {"config": {}, "enabled": method.enabled}
    return shown | {
        "config": {
            "issuer_url": method.issuer_url,
            "auth_url": method.auth_url or None,
            "token_url": method.token_url or None,
            "certs_url": method.certs_url or None,
            "client_id": method.client_id,
            "scopes": method.scope_list(),
            "pkce_enabled": method.pkce_enabled,
            "email_claim_name": method.email_claim_name,
            "groups_claim_name": method.groups_claim_name or None,
            "claims": [],
        },
        "enabled": method.enabled,
    }


def _get(provider_id: str) -> LoginMethod:
    return one_by_id(LoginMethod.objects.all(), provider_id, "Identity provider")


def _fields(body: IdentityProviderIn, stored: LoginMethod | None) -> dict[str, Any]:
    """The service's keywords for ``body``: Cloudflare's fields as sent (left out: their
    defaults); accessctl's own (``issuer_url``, ``groups_claim_name``, ``enabled``) and the
    secret kept from ``stored`` when a PUT leaves them out. Raise a 400 for what cannot be used."""
    config = body.config
    problems = []
    if body.type not in TYPES:
        problems.append(
            f"type: accessctl serves OpenID Connect ({OIDC!r}) and one-time PIN ({PIN!r}) "
            f"identity providers, not {body.type!r}."
        )
    elif stored is not None and body.type != stored.type:
        problems.append(
            f"type: a login method's type cannot change ({stored.type!r}); add another one."
        )
    if body.scim_config is not None and body.scim_config.enabled:
        problems.append("scim_config.enabled: accessctl has no SCIM provisioning.")
    enabled = body.enabled
    if enabled is None:
        enabled = stored.enabled if stored else True
    if body.type == PIN:
        problems += [
            f"config.{key}: a one-time PIN identity provider has no settings."
            for key, value in config.model_dump().items()
            if value not in (None, "", [], {}, False)
        ]
        if problems:
            raise invalid(*problems)
        return {"name": body.name, "enabled": enabled}
    if config.claims:
        problems.append(NO_CLAIMS)
    problems += [
        f"config.{key}: not supported by accessctl's OpenID Connect login methods."
        for key, value in (config.model_extra or {}).items()
        if value not in (None, "", [], {}, False)
    ]
    scopes = config.scopes or []
    if any(not scope or len(scope.split()) != 1 for scope in scopes):
        problems.append("config.scopes: each scope is one word, without spaces.")
    issuer = config.issuer_url or (stored.issuer_url if stored else "")
    if not issuer:
        problems.append(NO_ISSUER)
    if problems:
        raise invalid(*problems)
    groups = config.groups_claim_name
    if groups is None:
        groups = stored.groups_claim_name if stored else "groups"
    return {
        "name": body.name,
        "issuer_url": issuer,
        "auth_url": config.auth_url or "",
        "token_url": config.token_url or "",
        "certs_url": config.certs_url or "",
        "client_id": config.client_id or "",
        "client_secret": config.client_secret or "",
        "scopes": " ".join(scopes),
        "pkce_enabled": True if config.pkce_enabled is None else config.pkce_enabled,
        "email_claim_name": config.email_claim_name or "email",
        "groups_claim_name": groups,
        "enabled": enabled,
    }


def _unchanged(method: LoginMethod) -> dict[str, Any]:
    """The stored values of a one-time PIN method's (unused) OpenID Connect fields, for an
    update that changes its name and enabled flag only."""
    return {
        name: getattr(method, name)
        for name in ("issuer_url", "client_id", "scopes", "pkce_enabled", "email_claim_name")
    } | {"groups_claim_name": method.groups_claim_name}


@router.get("", response=Envelope[list[IdentityProviderOut]], summary="List identity providers")
def list_providers(
    request: HttpRequest, page: Query[Page], filters: Query[ProviderFilters]
) -> dict[str, object]:
    methods: QuerySet[LoginMethod] = LoginMethod.objects.order_by("pk")
    if (filters.scim_enabled or "").lower() == "true":
        methods = methods.none()
    chosen, info = paginate(methods, page.page, page.per_page)
    return ok([provider_out(m) for m in chosen], info)


@router.post("", response=Envelope[IdentityProviderOut], summary="Add an identity provider")
def create_provider(request: HttpRequest, body: IdentityProviderIn) -> dict[str, object]:
    token = token_of(request)
    fields = _fields(body, None)
    with api_write(LABELS):
        created = login_method_create(user=token.actor, type=body.type, **fields)
        record(token, created, ADDED, "Added through the API")
    return ok(provider_out(_get(str(created.pk))))


@router.get(
    "/{provider_id}", response=Envelope[IdentityProviderOut], summary="Get an identity provider"
)
def get_provider(request: HttpRequest, provider_id: str) -> dict[str, object]:
    return ok(provider_out(_get(provider_id)))


@router.put(
    "/{provider_id}", response=Envelope[IdentityProviderOut], summary="Update an identity provider"
)
def update_provider(
    request: HttpRequest, provider_id: str, body: IdentityProviderIn
) -> dict[str, object]:
    token = token_of(request)
    method = _get(provider_id)
    fields = _fields(body, method)
    with api_write(LABELS):
        kept = _unchanged(method) if method.is_one_time_pin else {}
        login_method_update(method=method, user=token.actor, **kept, **fields)
        record(token, method, CHANGED, "Changed through the API")
    # Disabled, it may leave an application that chose it alone with no login method.
    notes = no_login_method_notes(method=method)
    return ok(provider_out(_get(provider_id)), messages=notes)


@router.delete("/{provider_id}", response=Envelope[Deleted], summary="Delete an identity provider")
def delete_provider(request: HttpRequest, provider_id: str) -> dict[str, object]:
    token = token_of(request)
    method = _get(provider_id)
    shown = {"id": str(method.pk)}
    with api_write():
        record(token, method, DELETED, "Deleted through the API")
        try:
            login_method_delete(method=method, user=token.actor)
        except LoginMethodInUse as exc:
            # As a certificate with hostnames: in use, so a conflict (the history entry goes
            # with the rolled-back transaction).
            raise ApiError(409, CODE_CONFLICT, *exc.messages) from None
    return ok(shown)
