"""``accounts/{account_id}/access/policies``: reusable policies, attached to applications
through the applications' ``policies`` lists (``app_count`` says to how many)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router

from apps.api.audit import ADDED, CHANGED, DELETED, record
from apps.api.auth import token_of
from apps.api.envelope import Envelope, ok, paginate
from apps.api.policy_shapes import PolicyIn, PolicyOut, policy_fields, policy_out
from apps.api.routers.common import Confirm, Deleted, Page, api_write, one_by_id
from apps.policies.models import AccessPolicy
from apps.policies.services import policy_create, policy_delete, policy_update

router = Router(tags=["Access reusable policies"])


def reusable_policies() -> QuerySet[AccessPolicy]:
    return (
        AccessPolicy.objects.filter(reusable=True).prefetch_related("rules", "links").order_by("pk")
    )


def _get(policy_id: str) -> AccessPolicy:
    return one_by_id(reusable_policies(), policy_id, "Policy")


@router.get("", response=Envelope[list[PolicyOut]], summary="List reusable policies")
def list_policies(request: HttpRequest, page: Query[Page]) -> dict[str, object]:
    chosen, info = paginate(reusable_policies(), page.page, page.per_page)
    return ok([policy_out(p) for p in chosen], info)


@router.post("", response=Envelope[PolicyOut], summary="Create a reusable policy")
def create_policy(request: HttpRequest, body: PolicyIn) -> dict[str, object]:
    token = token_of(request)
    fields = policy_fields(body)
    with api_write():
        policy = policy_create(reusable=True, user=token.actor, **fields)
        record(token, policy, ADDED, "Added through the API")
    return ok(policy_out(_get(str(policy.pk))))


@router.get("/{policy_id}", response=Envelope[PolicyOut], summary="Get a reusable policy")
def get_policy(request: HttpRequest, policy_id: str) -> dict[str, object]:
    return ok(policy_out(_get(policy_id)))


@router.put("/{policy_id}", response=Envelope[PolicyOut], summary="Update a reusable policy")
def update_policy(
    request: HttpRequest, policy_id: str, body: PolicyIn, flags: Query[Confirm]
) -> dict[str, object]:
    token = token_of(request)
    policy = _get(policy_id)
    fields = policy_fields(body)
    with api_write(confirm=flags):
        policy_update(
            policy=policy,
            enabled=policy.enabled,
            user=token.actor,
            allow_unguarded=True,
            **fields,
        )
        record(token, policy, CHANGED, "Changed through the API")
    return ok(policy_out(_get(policy_id)))


@router.delete("/{policy_id}", response=Envelope[Deleted], summary="Delete a reusable policy")
def delete_policy(request: HttpRequest, policy_id: str, flags: Query[Confirm]) -> dict[str, object]:
    token = token_of(request)
    policy = _get(policy_id)
    with api_write(confirm=flags):
        record(token, policy, DELETED, "Deleted through the API")
        policy_delete(policy=policy, user=token.actor, allow_unguarded=True)
    return ok({"id": policy_id})
