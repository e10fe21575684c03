"""Access applications and their policies (Cloudflare's Access → Applications and Policies).

An :class:`Application` has domains (a hostname, optionally a path), a session duration, an
AUD tag and an ordered list of policies; a policy (:class:`AccessPolicy`) belongs to one
application, or is *reusable* and attached to several, each :class:`ApplicationPolicy` link
with its own precedence. Applications and policies are one layer because they refer to each
other (see docs/architecture.md). The request path never reads these models:
``apps.gateway.snapshot`` turns them into the pure core's types once per configuration change.
"""

from apps.policies.models.applications import Application, ApplicationDomain, ApplicationPolicy
from apps.policies.models.policies import (
    DASHBOARD_HOSTNAME,
    MISSING_INCLUDE,
    TESTER_PERMISSION,
    UNBOUND_HOSTNAME,
    AccessPolicy,
    PolicyRule,
    validate_rule_groups,
    validate_rule_types,
)

__all__ = [
    "DASHBOARD_HOSTNAME",
    "MISSING_INCLUDE",
    "TESTER_PERMISSION",
    "UNBOUND_HOSTNAME",
    "AccessPolicy",
    "Application",
    "ApplicationDomain",
    "ApplicationPolicy",
    "PolicyRule",
    "validate_rule_groups",
    "validate_rule_types",
]
