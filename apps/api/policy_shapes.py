"""Policies in Cloudflare's shape, and back: ``decision``, ``include`` / ``require`` /
``exclude`` lists of rule objects, ``session_duration`` as a Go duration.

Rule objects are Cloudflare's for the rules it has, and the same style for the project's own
certificate rules (docs/api.md lists them)::

    {"certificate": {}}                                   Valid Certificate
    {"common_name": {"common_name": "device-7"}}          Common Name
    {"san_dns": {"san_dns": "*.devices.example.com"}}     SAN DNS name (accessctl's)
    {"san_email": {"san_email": "ops@example.com"}}       (accessctl's)
    {"san_uri": {"san_uri": "spiffe://example.com/x"}}    (accessctl's)
    {"organizational_unit": {"organizational_unit": "Fleet"}}
    {"fingerprint_sha256": {"fingerprint_sha256": "ab12…"}}
    {"spki_sha256": {"spki_sha256": "cd34…"}}
    {"email": {"email": "ada@example.com"}}               Emails
    {"email_domain": {"domain": "example.com"}}           Emails ending in
    {"everyone": {}}                                      Everyone
    {"login_method": {"id": "3"}}                         Login method (an identity provider)
    {"oidc": {"claim_name": "groups", "claim_value": "admins",
              "identity_provider_id": "3"}}               OIDC claim (of that provider)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from accessctl.core.durations import InvalidDuration, parse_go_duration
from accessctl.core.matching import InvalidRuleValue
from accessctl.core.people import claim_rule_value, split_scoped_claim
from accessctl.core.policy import Decision, RuleGroup, RuleType, login_method_id
from apps.api.envelope import invalid
from apps.identity.models import LoginMethod
from apps.policies.choices import DEFAULT_APP_SESSION_SECONDS, go_duration
from apps.policies.models import AccessPolicy, PolicyRule
from apps.policies.services import RuleSpec

RuleObject = dict[str, dict[str, str]]

VALID_CERTIFICATE_KEY = "certificate"
OIDC_KEY = "oidc"
# Rules whose object is not {"<key>": {"<key>": value}}: Cloudflare's own shapes.
_EMPTY = {RuleType.VALID_CERTIFICATE: VALID_CERTIFICATE_KEY, RuleType.EVERYONE: "everyone"}
_ONE_FIELD = {RuleType.EMAIL_DOMAIN: "domain", RuleType.LOGIN_METHOD: "id"}
_OIDC_FIELDS = {"claim_name", "claim_value", "identity_provider_id"}
RULE_TYPES: dict[str, RuleType] = {
    _EMPTY.get(t, OIDC_KEY if t is RuleType.OIDC_CLAIM else t.value): t for t in RuleType
}
RULE_KEYS = {t: key for key, t in RULE_TYPES.items()}
DECISIONS = tuple(d.value for d in Decision)


class PolicyIn(Schema):
    """A policy as Cloudflare's API takes it."""

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
                f"{where}: {key!r} is not a rule accessctl has; it has "
                f"{', '.join(sorted(RULE_TYPES))}."
            )
        if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
            raise invalid(f"{where}: {key!r} takes an object of strings.")
        specs.append((group.value, rule_type.value, _rule_value(where, key, rule_type, body)))
    return specs


def _rule_value(where: str, key: str, rule_type: RuleType, body: dict[str, str]) -> str:
    """The stored value of one rule object's body (checked further by the policies service)."""
    if rule_type in _EMPTY:
        if body:
            raise invalid(f'{where}: "{key}" takes an empty object.')
        return ""
    if rule_type is RuleType.OIDC_CLAIM:
        if not {"claim_name", "claim_value"} <= set(body) <= _OIDC_FIELDS:
            raise invalid(
                f'{where}: write it as {{"oidc": {{"claim_name": "groups", "claim_value": '
                f'"admins", "identity_provider_id": "<id>"}}}} (identity_provider_id optional).'
            )
        provider = body.get("identity_provider_id") or None
        if provider is not None:
            provider = _login_method(where, provider)
        name = body["claim_name"].strip()
        if "|" in name:  # it would read as a login method's id
            raise invalid(f"{where}: claim_name {name!r} is not a claim name.")
        return claim_rule_value(name, body["claim_value"].strip(), provider)
    field = _ONE_FIELD.get(rule_type, key)
    if set(body) != {field}:
        raise invalid(f'{where}: write it as {{"{key}": {{"{field}": "…"}}}}.')
    if rule_type is RuleType.LOGIN_METHOD:
        return _login_method(where, body[field])
    return body[field]


def _login_method(where: str, given: str) -> str:
    """``given`` as a rule stores it; 400 unless it is the id of a login method (an identity
    provider)."""
    try:
        pk = login_method_id(given)
    except InvalidRuleValue:
        pk = ""
    if not pk or not LoginMethod.objects.filter(pk=int(pk)).exists():
        raise invalid(f"{where}: {given[:40]!r} is not the id of an identity provider.")
    return pk


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
    rule_type = RuleType(rule.type)
    key = RULE_KEYS[rule_type]
    if rule_type in _EMPTY:
        return {key: {}}
    if rule_type is RuleType.OIDC_CLAIM:
        scope, name, wanted = split_scoped_claim(rule.value)
        claim = {"claim_name": name, "claim_value": wanted}
        return {key: claim | ({"identity_provider_id": scope} if scope else {})}
    return {key: {_ONE_FIELD.get(rule_type, key): rule.value}}


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
