"""Access policies, made through the policies' own service, and the dashboard's policy form."""

from __future__ import annotations

from collections.abc import Sequence

from apps.policies.admin.guarded import CONFIRM_FIELD
from apps.policies.choices import session_seconds_of
from apps.policies.models import AccessPolicy
from apps.policies.services import RuleSpec, policy_create
from tests.factories.hosts import HOST

POLICY_ADD = "admin:policies_accesspolicy_add"
POLICY_TESTER = "admin:policies_accesspolicy_tester"
VALID_CERTIFICATE: tuple[RuleSpec, ...] = (("include", "valid_certificate", ""),)
# What the dashboard's "Leave these unguarded?" page adds to the form it posts again.
UNGUARDED_CONFIRMED = {CONFIRM_FIELD: "yes"}

# What the dashboard must offer, written out by hand (never read back from the choices).
SESSION_DURATION_LABELS = [
    "Same as application session timeout",
    "No duration, expires immediately",
    "15 minutes",
    "30 minutes",
    "1 hour",
    "6 hours",
    "12 hours",
    "24 hours",
    "1 week",
    "1 month",
]


def add_policy(
    hostname: str = HOST,
    name: str = "devices",
    *,
    decision: str = "non_identity",
    rules: Sequence[RuleSpec] = VALID_CERTIFICATE,
    **fields: object,
) -> AccessPolicy:
    """A Non Identity / Valid Certificate policy on ``hostname`` (in the application for that
    hostname) unless told otherwise.

    Through ``policy_create``, so with the dashboard's checks: the hostname must be bound to a
    CA (and no dashboard hostname), every rule value fit its type, one rule an Include.
    ``fields`` are policy_create's other keywords (path_prefix, enabled, …); ``order`` and
    ``session_duration`` take the dashboard's spellings (``order=2``, ``session_duration="1h"``,
    ``"app"``, ``"no_duration"``) and stand for ``precedence`` and ``session_seconds``.
    """
    if "order" in fields:
        fields["precedence"] = fields.pop("order")
    if "session_duration" in fields:
        fields["session_seconds"] = session_seconds_of(str(fields.pop("session_duration")))
    return policy_create(
        hostname=hostname,
        name=name,
        decision=decision,
        rules=rules,
        **fields,
    )


def policy_form(
    rules: Sequence[RuleSpec] = (("include", "common_name", "device-7"),), **fields: str
) -> dict[str, str]:
    """The policy page's POST for a new Non Identity policy "devices" on HOST with ``rules``;
    ``fields`` replace or add form fields."""
    data = {
        "name": "devices",
        "hostname": HOST,
        "path_prefix": "/",
        "decision": "non_identity",
        "order": "1",
        "session_duration": "24h",
        "enabled": "on",
        "rules-TOTAL_FORMS": str(len(rules)),
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
    }
    for i, (group, rule_type, value) in enumerate(rules):
        data |= {f"rules-{i}-group": group, f"rules-{i}-type": rule_type, f"rules-{i}-value": value}
    return data | fields
