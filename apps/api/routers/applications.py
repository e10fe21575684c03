"""``accounts/{account_id}/access/apps``: self-hosted applications, their ``policies`` and
``revoke_tokens``; ``apps/{app_id}/policies``: an application's policies with precedence.

Writes go through ``apps.policies.services`` (the dashboard's checks; every row saved one at
a time, so every node enforces the change within a second) and, for ``allowed_idps`` (the login
methods an application offers), ``apps.identity.services``: all of one request in one
transaction. ``auto_redirect_to_identity`` is stored nowhere: it is what accessctl's login page
does, going straight to an application's only chosen login method, so it is answered ``true``
exactly when ``allowed_idps`` has one id, and a request saying otherwise is refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field

from apps.api.audit import ADDED, CHANGED, DELETED, record
from apps.api.auth import token_of
from apps.api.envelope import Envelope, invalid, not_found, ok, paginate
from apps.api.models import ApiToken
from apps.api.policy_shapes import (
    PolicyIn,
    PolicyOut,
    duration_seconds,
    policy_fields,
    policy_out,
)
from apps.api.routers.common import (
    Confirm,
    Deleted,
    Page,
    api_write,
    as_id,
    no_login_method_notes,
)
from apps.identity.models import LoginMethod
from apps.identity.services import application_set_login_methods
from apps.policies.choices import DEFAULT_APP_SESSION_SECONDS, go_duration
from apps.policies.models import AccessPolicy, Application, ApplicationPolicy
from apps.policies.services import (
    application_create,
    application_delete,
    application_revoke_tokens,
    application_set_policies,
    application_update,
    policy_create,
    policy_delete,
    policy_update,
)

router = Router(tags=["Access applications"])

SELF_HOSTED = "self_hosted"
AUD_LENGTH = 64
LABELS = {"domains": "domain", "session_seconds": "session_duration"}
REDIRECT_NEEDS_ONE = (
    "auto_redirect_to_identity: true needs exactly one identity provider in allowed_idps: "
    "accessctl's login page goes straight to an application's only login method and shows "
    "the choice otherwise."
)
REDIRECT_ALWAYS_WITH_ONE = (
    "auto_redirect_to_identity: accessctl's login page always goes straight to an "
    "application's only login method, so it cannot be false with one identity provider in "
    "allowed_idps: send true, or leave it out."
)


class Destination(Schema):
    type: str = Field("public", max_length=100)
    uri: str = Field(max_length=2000)


class PolicyLink(Schema):
    """A reusable (or the application's own) policy by id, at a precedence."""

    model_config = ConfigDict(extra="forbid")
    id: str | int
    precedence: int | None = Field(None, ge=1, le=1_000_000)


class InlinePolicy(PolicyIn):
    """A policy of this application only, given in full."""

    precedence: int | None = Field(None, ge=1, le=1_000_000)


class ApplicationIn(Schema):
    """A self-hosted application as Cloudflare's API takes it."""

    type: str = Field(SELF_HOSTED, max_length=100)
    name: str = Field(max_length=10_000)
    domain: str | None = Field(None, max_length=2000)
    self_hosted_domains: list[str] | None = Field(None, max_length=500)
    destinations: list[Destination] | None = Field(None, max_length=500)
    session_duration: str | None = Field(None, max_length=100)
    policies: list[str | int | PolicyLink | InlinePolicy] | None = Field(None, max_length=500)
    allowed_idps: list[str] | None = Field(None, max_length=500)
    auto_redirect_to_identity: bool | None = None


class ApplicationOut(Schema):
    id: str
    uid: str
    type: str
    name: str
    domain: str
    self_hosted_domains: list[str]
    destinations: list[Destination]
    aud: str
    session_duration: str
    enabled: bool
    policies: list[PolicyOut]
    allowed_idps: list[str]
    auto_redirect_to_identity: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ApplicationFilters(Schema):
    """Cloudflare's list filters: exact ``domain``, ``name`` or ``aud``; ``search`` in the
    name or a domain."""

    domain: str | None = Field(None, max_length=2000)
    name: str | None = Field(None, max_length=10_000)
    aud: str | None = Field(None, max_length=100)
    search: str | None = Field(None, max_length=10_000)


def applications() -> QuerySet[Application]:
    return Application.objects.prefetch_related(
        "domains", "policy_links__policy__rules", "policy_links__policy__links", "login_methods"
    ).order_by("pk")


def allowed_idps(application: Application) -> list[str]:
    """The ids of the login methods ``application`` chose, in the order they were given
    (none: it offers every enabled method)."""
    rows = sorted(application.login_methods.all(), key=lambda row: row.pk)
    return [str(row.login_method_id) for row in rows]


def app_out(application: Application) -> dict[str, Any]:
    domains = application.domain_list()
    links = sorted(application.policy_links.all(), key=lambda link: link.precedence)
    chosen = allowed_idps(application)
    return {
        "id": str(application.pk),
        "uid": str(application.pk),
        "type": SELF_HOSTED,
        "name": application.name,
        "domain": domains[0] if domains else "",
        "self_hosted_domains": domains,
        "destinations": [{"type": "public", "uri": d} for d in domains],
        "aud": application.aud,
        "session_duration": go_duration(application.session_seconds),
        "enabled": application.enabled,
        "policies": [policy_out(link.policy, link.precedence) for link in links],
        "allowed_idps": chosen,
        "auto_redirect_to_identity": len(chosen) == 1,
        "created_at": application.created_at,
        "updated_at": application.updated_at,
    }


def _get(app_id: str) -> Application:
    # Cloudflare accepts the id or the AUD tag wherever an application is named.
    number = as_id(app_id)
    if number is not None:
        found = applications().filter(pk=number).first()
    elif app_id.isascii() and app_id.isalnum() and len(app_id) == AUD_LENGTH:
        found = applications().filter(aud=app_id.lower()).first()
    else:
        found = None
    if found is None:
        raise not_found("Application")
    return found


def _domains(body: ApplicationIn) -> list[str]:
    if body.type != SELF_HOSTED:
        raise invalid(
            f"type: accessctl serves self_hosted applications only, not {body.type!r} "
            "(it guards hostnames with client certificates)."
        )
    if body.destinations:
        domains = []
        for destination in body.destinations:
            if destination.type != "public":
                raise invalid("destinations: only public destinations (hostname and path).")
            domains.append(destination.uri)
        return domains
    if body.self_hosted_domains:
        return list(body.self_hosted_domains)
    if body.domain:
        return [body.domain]
    raise invalid(
        "domain: an application needs a domain (domain, self_hosted_domains or destinations)."
    )


def _links(
    application: Application, items: list[str | int | PolicyLink | InlinePolicy], token: ApiToken
) -> list[tuple[AccessPolicy, int]]:
    """The application's policy list from the request: ids and ``{id, precedence}`` name
    existing policies (reusable ones, or this application's own); inline objects are made as
    the application's own policies. Precedence defaults to the position in the list."""
    links: list[tuple[AccessPolicy, int]] = []
    for position, item in enumerate(items, start=1):
        if isinstance(item, InlinePolicy):
            fields = policy_fields(item)
            made = policy_create(application=application, user=token.actor, **fields)
            links.append((made, item.precedence or position))
            continue
        if isinstance(item, PolicyLink):
            text, precedence = str(item.id), item.precedence
        else:
            text, precedence = str(item), None
        number = as_id(text)
        found = AccessPolicy.objects.filter(pk=number).first() if number is not None else None
        if found is None:
            raise invalid(f"policies.{position}: no policy with id {text!r}.")
        links.append((found, precedence or position))
    return links


def _login_methods(body: ApplicationIn, kept: int) -> list[LoginMethod] | None:
    """The login methods ``body`` chooses, each once (None: ``allowed_idps`` absent, keep the
    ``kept`` ones the application has chosen); a 400 for an id that names none, or for an
    ``auto_redirect_to_identity`` that is not what the login page will do with them."""
    methods: list[LoginMethod] | None = None
    if body.allowed_idps is not None:
        numbers = {text: as_id(text) for text in body.allowed_idps}
        found = LoginMethod.objects.in_bulk([n for n in numbers.values() if n is not None])
        problems = [
            f"allowed_idps.{position}: no identity provider with id {text!r}."
            for position, text in enumerate(body.allowed_idps, start=1)
            if numbers[text] not in found
        ]
        if problems:
            raise invalid(*problems)
        methods = list({numbers[text]: found[numbers[text]] for text in numbers}.values())
    chosen = len(methods) if methods is not None else kept
    redirect = body.auto_redirect_to_identity
    if redirect is True and chosen != 1:
        raise invalid(REDIRECT_NEEDS_ONE)
    if redirect is False and chosen == 1:
        raise invalid(REDIRECT_ALWAYS_WITH_ONE)
    return methods


def _session(body: ApplicationIn, default: int) -> int:
    if body.session_duration is None:
        return default
    return duration_seconds(body.session_duration, "session_duration")


@router.get("", response=Envelope[list[ApplicationOut]], summary="List applications")
def list_applications(
    request: HttpRequest, page: Query[Page], filters: Query[ApplicationFilters]
) -> dict[str, object]:
    found = applications()
    if filters.name is not None:
        found = found.filter(name=filters.name)
    if filters.aud is not None:
        found = found.filter(aud=filters.aud)
    if filters.search:
        found = found.filter(
            Q(name__icontains=filters.search) | Q(domains__hostname__icontains=filters.search)
        ).distinct()
    if filters.domain is not None:
        wanted = filters.domain.strip().lower()
        ids = [a.pk for a in found if wanted in {d.lower() for d in a.domain_list()}]
        found = found.filter(pk__in=ids)
    chosen, info = paginate(found, page.page, page.per_page)
    return ok([app_out(a) for a in chosen], info)


@router.post("", response=Envelope[ApplicationOut], summary="Add an application")
def create_application(
    request: HttpRequest, body: ApplicationIn, flags: Query[Confirm]
) -> dict[str, object]:
    token = token_of(request)
    domains = _domains(body)
    session = _session(body, DEFAULT_APP_SESSION_SECONDS)
    methods = _login_methods(body, kept=0)
    with api_write(LABELS, confirm=flags):
        application = application_create(
            name=body.name,
            domains=domains,
            session_seconds=session,
            user=token.actor,
            allow_unguarded=True,
        )
        if body.policies:
            links = _links(application, body.policies, token)
            application_set_policies(
                application=application, links=links, user=token.actor, allow_unguarded=True
            )
        if methods:
            application_set_login_methods(application=application, methods=methods)
        record(token, application, ADDED, "Added through the API")
    notes = no_login_method_notes(application=application)
    return ok(app_out(_get(str(application.pk))), messages=notes)


@router.get("/{app_id}", response=Envelope[ApplicationOut], summary="Get an application")
def get_application(request: HttpRequest, app_id: str) -> dict[str, object]:
    return ok(app_out(_get(app_id)))


@router.put("/{app_id}", response=Envelope[ApplicationOut], summary="Update an application")
def update_application(
    request: HttpRequest,
    app_id: str,
    body: ApplicationIn,
    flags: Query[Confirm],
) -> dict[str, object]:
    token = token_of(request)
    application = _get(app_id)
    domains = _domains(body)
    session = _session(body, application.session_seconds)
    methods = _login_methods(body, kept=len(allowed_idps(application)))
    with api_write(LABELS, confirm=flags):
        application_update(
            application=application,
            name=body.name,
            domains=domains,
            session_seconds=session,
            enabled=application.enabled,
            user=token.actor,
            allow_unguarded=True,
        )
        if body.policies is not None:
            links = _links(application, body.policies, token)
            application_set_policies(
                application=application, links=links, user=token.actor, allow_unguarded=True
            )
        if methods is not None:
            application_set_login_methods(application=application, methods=methods)
        record(token, application, CHANGED, "Changed through the API")
    notes = no_login_method_notes(application=application)
    return ok(app_out(_get(str(application.pk))), messages=notes)


@router.delete("/{app_id}", response=Envelope[Deleted], summary="Delete an application")
def delete_application(
    request: HttpRequest, app_id: str, flags: Query[Confirm]
) -> dict[str, object]:
    token = token_of(request)
    application = _get(app_id)
    pk = str(application.pk)
    with api_write(LABELS, confirm=flags):
        record(token, application, DELETED, "Deleted through the API")
        application_delete(application=application, user=token.actor, allow_unguarded=True)
    return ok({"id": pk})


@router.post(
    "/{app_id}/revoke_tokens", response=Envelope[None], summary="Revoke application tokens"
)
def revoke_tokens(request: HttpRequest, app_id: str) -> dict[str, object]:
    token = token_of(request)
    application = _get(app_id)
    with api_write():
        application_revoke_tokens(application=application, user=token.actor)
        record(token, application, CHANGED, "Revoked every token of the application")
    return ok(None)


# --- The application's policies ---------------------------------------------------------


class AppPolicyIn(PolicyIn):
    precedence: int | None = Field(None, ge=1, le=1_000_000)


def _link(application: Application, policy_id: str) -> ApplicationPolicy:
    link = next(
        (link for link in application.policy_links.all() if str(link.policy_id) == policy_id),
        None,
    )
    if link is None:
        raise not_found("Policy")
    return link


@router.get(
    "/{app_id}/policies", response=Envelope[list[PolicyOut]], summary="List application policies"
)
def list_app_policies(request: HttpRequest, app_id: str, page: Query[Page]) -> dict[str, object]:
    links = sorted(_get(app_id).policy_links.all(), key=lambda link: link.precedence)
    chosen, info = paginate(links, page.page, page.per_page)
    return ok([policy_out(link.policy, link.precedence) for link in chosen], info)


@router.post(
    "/{app_id}/policies", response=Envelope[PolicyOut], summary="Add an application policy"
)
def create_app_policy(request: HttpRequest, app_id: str, body: AppPolicyIn) -> dict[str, object]:
    token = token_of(request)
    application = _get(app_id)
    fields = policy_fields(body)
    with api_write():
        policy = policy_create(
            application=application, precedence=body.precedence, user=token.actor, **fields
        )
        record(token, policy, ADDED, f"Added to {application.name} through the API")
    return ok(_policy_answer(app_id, str(policy.pk)))


def _policy_answer(app_id: str, policy_id: str) -> dict[str, Any]:
    link = _link(_get(app_id), policy_id)
    return policy_out(link.policy, link.precedence)


@router.get(
    "/{app_id}/policies/{policy_id}",
    response=Envelope[PolicyOut],
    summary="Get an application policy",
)
def get_app_policy(request: HttpRequest, app_id: str, policy_id: str) -> dict[str, object]:
    return ok(_policy_answer(app_id, policy_id))


@router.put(
    "/{app_id}/policies/{policy_id}",
    response=Envelope[PolicyOut],
    summary="Update an application policy",
)
def update_app_policy(
    request: HttpRequest,
    app_id: str,
    policy_id: str,
    body: AppPolicyIn,
    flags: Query[Confirm],
) -> dict[str, object]:
    token = token_of(request)
    application = _get(app_id)
    link = _link(application, policy_id)
    fields = policy_fields(body)
    with api_write(confirm=flags):
        policy_update(
            policy=link.policy,
            enabled=link.policy.enabled,
            user=token.actor,
            allow_unguarded=True,
            **fields,
        )
        if body.precedence is not None and body.precedence != link.precedence:
            links = [
                (other.policy, body.precedence if other.pk == link.pk else other.precedence)
                for other in application.policy_links.select_related("policy")
            ]
            application_set_policies(
                application=application, links=links, user=token.actor, allow_unguarded=True
            )
        record(token, link.policy, CHANGED, "Changed through the API")
    return ok(_policy_answer(app_id, policy_id))


@router.delete(
    "/{app_id}/policies/{policy_id}",
    response=Envelope[Deleted],
    summary="Delete an application policy",
)
def delete_app_policy(
    request: HttpRequest, app_id: str, policy_id: str, flags: Query[Confirm]
) -> dict[str, object]:
    """The application's own policy is deleted; a reusable one is only detached from it."""
    token = token_of(request)
    application = _get(app_id)
    link = _link(application, policy_id)
    with api_write(confirm=flags):
        if link.policy.reusable:
            rest = [
                (other.policy, other.precedence)
                for other in application.policy_links.select_related("policy")
                if other.pk != link.pk
            ]
            application_set_policies(
                application=application, links=rest, user=token.actor, allow_unguarded=True
            )
            record(token, application, CHANGED, f"Detached {link.policy.name} through the API")
        else:
            record(token, link.policy, DELETED, "Deleted through the API")
            policy_delete(policy=link.policy, user=token.actor, allow_unguarded=True)
    return ok({"id": policy_id})
