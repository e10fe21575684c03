"""Writes of access policies that span several rows (a policy and its rules)."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.policies.models import AccessPolicy, PolicyRule, validate_rule_groups

RuleSpec = tuple[str, str, str]  # (group, type, value)


@transaction.atomic
def policy_create(
    *,
    hostname: str,
    name: str,
    decision: str,
    rules: Sequence[RuleSpec],
    session_duration: str = "24h",
    order: int = 1,
    path_prefix: str = "/",
    enabled: bool = True,
    user: AbstractBaseUser | None = None,
) -> AccessPolicy:
    """Validate and save a policy with its rules, all or nothing.

    The checks are the models' own (``AccessPolicy.clean``, ``PolicyRule.clean``,
    :func:`validate_rule_groups`), the same the dashboard form runs. Raises
    ``ValidationError`` keyed by field (``rules`` for the rule set) and writes nothing.
    """
    policy = AccessPolicy(
        hostname=hostname,
        name=name,
        decision=decision,
        session_duration=session_duration,
        order=order,
        path_prefix=path_prefix,
        enabled=enabled,
        created_by=user,
        updated_by=user,
    )
    errors: dict[str, list[str]] = {}
    try:
        policy.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    rows = [PolicyRule(group=g, type=t, value=v) for g, t, v in rules]
    for position, row in enumerate(rows, start=1):
        try:
            row.full_clean(exclude=["policy"])
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault("rules", []).extend(
                    f"rule {position} ({row.group} {row.type}) {field}: {m}" for m in messages
                )
    try:
        validate_rule_groups(row.group for row in rows)
    except ValidationError as exc:
        errors.setdefault("rules", []).extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    policy.save()
    for row in rows:
        # One save per rule (not bulk_create) so that post_save reaches the configuration
        # version stamp like any other change.
        row.policy = policy
        row.save()
    return policy
