"""Access policies as plain data, and their evaluation.

The types here are what the snapshot carries; the Django models in ``apps.policies`` are
converted into them once per configuration change, never per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Decision(StrEnum):
    """What a matching policy does. Values are Cloudflare's API names."""

    NON_IDENTITY = "non_identity"
    ALLOW = "allow"
    BLOCK = "deny"
    BYPASS = "bypass"


class RuleGroup(StrEnum):
    """Include: any rule matches. Require: every rule matches. Exclude: no rule matches."""

    INCLUDE = "include"
    REQUIRE = "require"
    EXCLUDE = "exclude"


class RuleType(StrEnum):
    """What a rule compares. Everything compared comes from the verified leaf only."""

    COMMON_NAME = "common_name"
    VALID_CERTIFICATE = "valid_certificate"
    SAN_DNS = "san_dns"
    SAN_EMAIL = "san_email"
    SAN_URI = "san_uri"
    ORGANIZATIONAL_UNIT = "organizational_unit"
    FINGERPRINT = "fingerprint_sha256"
    SPKI = "spki_sha256"


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of a policy; ``value`` is empty for Valid Certificate."""

    group: RuleGroup
    type: RuleType
    value: str = ""


@dataclass(frozen=True, slots=True)
class Policy:
    """An enabled policy of one hostname, as evaluated on the request path."""

    id: int
    name: str
    decision: Decision
    order: int
    rules: tuple[Rule, ...]
    session_seconds: int  # 0: "No duration, expires immediately"
    path_prefix: str = "/"
