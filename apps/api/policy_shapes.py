"""Policies in Cloudflare's shape, and back: ``decision``, ``include`` / ``require`` /
``exclude`` lists of rule objects, ``session_duration`` as a Go duration.

Rule objects are Cloudflare's for the two certificate rules it has, and the same style for
the project's own (docs/api.md lists them)::

    {"certificate": {}}                                   Valid Certificate
    {"common_name": {"common_name": "device-7"}}          Common Name
    {"san_dns": {"san_dns": "*.devices.example.com"}}     SAN DNS name
    {"san_email": {"san_email": "ops@example.com"}}
    {"san_uri": {"san_uri": "spiffe://example.com/x"}}
    {"organizational_unit": {"organizational_unit": "Fleet"}}
    {"fingerprint_sha256": {"fingerprint_sha256": "ab12…"}}
    {"spki_sha256": {"spki_sha256": "cd34…"}}
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from accessctl.core.durations import InvalidDuration, parse_go_duration
from accessctl.core.policy import Decision, RuleGroup, RuleType
from apps.api.envelope import invalid
from apps.policies.choices import DEFAULT_APP_SESSION_SECONDS, go_duration
from apps.policies.models import AccessPolicy, PolicyRule
from apps.policies.services import RuleSpec

RuleObject = dict[str, dict[str, str]]

VALID_CERTIFICATE_KEY = "certificate"
RULE_TYPES: dict[str, RuleType] = {
    (VALID_CERTIFICATE_KEY if t is RuleType.VALID_CERTIFICATE else t.value): t for t in RuleType
}
RULE_KEYS = {t: key for key, t in RULE_TYPES.items()}
DECISIONS = tuple(d.value for d in Decision)


class PolicyIn(Schema):
    """A policy as Cloudflare's API takes it (its certificate rules)."""

    name: str = Field(max_length=10_000)
    decision: str = Field(max_length=100)
    include: list[RuleObject] = Field(max_length=500)
    require: list[RuleObject] = Field(default_factory=list, max_length=500)
    exclude: list[RuleObject] = Field(default_factory=list, max_length=500)
    session_duration: str | None = Field(None, max_length=100)


class PolicyOut(Schema):
    """A policy as Cloudflare's API shows it."""

    id: str
    name: str
    decision: str
    include: list[RuleObject]
    require: list[RuleObject]
    exclude: list[RuleObject]
    session_duration: str | None  # None: the application's session duration
    reusable: bool
    app_count: int
    precedence: int | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


def _rules(group: RuleGroup, objects: list[RuleObject]) -> list[RuleSpec]:
    specs: list[RuleSpec] = []
    for position, item in enumerate(objects, start=1):
        where = f"{group.value}.{position}"
        if len(item) != 1:
            raise invalid(
                f'{where}: a rule object has exactly one key, e.g. {{"certificate": {{}}}}.'
            )
        ((key, body),) = item.items()
        rule_type = RULE_TYPES.get(key)
        if rule_type is None:
            raise invalid(
                f"{where}: {key!r} is not a rule accessctl has; it has the certificate rules "
                f"{', '.join(sorted(RULE_TYPES))}."
            )
        if rule_type is RuleType.VALID_CERTIFICATE:
            if body:
                raise invalid(f'{where}: "certificate" takes an empty object.')
            specs.append((group.value, rule_type.value, ""))
            continue
        if set(body) != {key}:
            raise invalid(f'{where}: write it as {{"{key}": {{"{key}": "…"}}}}.')
        specs.append((group.value, rule_type.value, body[key]))
    return specs


def policy_fields(body: PolicyIn) -> dict[str, Any]:
    """The service's keyword arguments (``name``, ``decision``, ``rules``,
    ``session_seconds``) for a policy body; 400 for a decision or a rule accessctl lacks."""
    if body.decision not in DECISIONS:
        raise invalid(f"decision: {body.decision!r} is not one of {', '.join(DECISIONS)}.")
    rules = [
        *_rules(RuleGroup.INCLUDE, body.include),
        *_rules(RuleGroup.REQUIRE, body.require),
        *_rules(RuleGroup.EXCLUDE, body.exclude),
    ]
    if "session_duration" not in body.model_fields_set:
        session: int | None = DEFAULT_APP_SESSION_SECONDS
    elif body.session_duration is None:
        session = None  # the application's duration
    else:
        session = duration_seconds(body.session_duration, "session_duration")
    return {
        "name": body.name,
        "decision": body.decision,
        "rules": rules,
        "session_seconds": session,
    }


def duration_seconds(text: str, field: str) -> int:
    """A Go duration in whole seconds; 400 naming ``field`` when it is none."""
    try:
        return parse_go_duration(text)
    except InvalidDuration as exc:
        raise invalid(f"{field}: {exc}") from None


def rule_object(rule: PolicyRule) -> RuleObject:
    key = RULE_KEYS[RuleType(rule.type)]
    return {key: {} if rule.type == RuleType.VALID_CERTIFICATE else {key: rule.value}}


def policy_out(policy: AccessPolicy, precedence: int | None = None) -> dict[str, Any]:
    """The API's view of a policy (uses prefetched rules and links)."""
    groups: dict[str, list[RuleObject]] = {g.value: [] for g in RuleGroup}
    for rule in policy.rules.all():
        groups[rule.group].append(rule_object(rule))
    seconds = policy.session_seconds
    return {
        "id": str(policy.pk),
        "name": policy.name,
        "decision": policy.decision,
        **groups,
        "session_duration": None if seconds is None else go_duration(seconds),
        "reusable": policy.reusable,
        "app_count": len(policy.links.all()),
        "precedence": precedence,
        "created_at": policy.created_at,
        "updated_at": policy.updated_at,
    }
