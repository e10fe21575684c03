"""Access policies and their rules: who may reach an application, decided by rules on the
client certificate and, for Allow and Block, on the person who logged in."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models

from accessctl.core.matching import InvalidRuleValue
from accessctl.core.policy import (
    Decision,
    Policy,
    Rule,
    RuleGroup,
    RuleType,
    check_rules_for_decision,
    describe_rule,
    normalize_path_prefix,
    normalize_rule_value,
)
from apps.base.models import AuditedModel
from apps.policies.choices import (
    DecisionChoices,
    RuleGroupChoices,
    RuleTypeChoices,
    duration_label,
)

UNBOUND_HOSTNAME = "Associate this hostname with a certificate first (Mutual TLS)."
MISSING_INCLUDE = "A policy needs at least one Include rule."
# Who may use the policy tester (apps.console.tester): whoever may see the policies it runs.
TESTER_PERMISSION = "policies.view_accesspolicy"
DASHBOARD_HOSTNAME = (
    "This hostname serves the dashboard (ACCESSCTL_DASHBOARD_HOSTS), which is never enforced: "
    "an application here would protect nothing."
)
SESSION_HELP = (
    "How long a client stays signed in after it was let through. "
    '"No duration" asks for the certificate on every request; "Same as application" takes '
    "the application's session duration."
)


def validate_rule_groups(groups: Iterable[str]) -> None:
    """Refuse a rule set without an Include rule (Cloudflare: every policy has one)."""
    if RuleGroup.INCLUDE.value not in set(groups):
        raise ValidationError(MISSING_INCLUDE, code="missing_include")


def validate_rule_types(decision: str, types: Iterable[str]) -> None:
    """Refuse identity rules in a Non Identity or Bypass policy (one definition: the core's)."""
    if decision not in Decision._value2member_map_:
        return  # the decision field's own error is shown
    try:
        check_rules_for_decision(
            Decision(decision), [RuleType(t) for t in types if t in RuleType._value2member_map_]
        )
    except InvalidRuleValue as exc:
        raise ValidationError(str(exc), code="identity_rule_not_allowed") from None


class AccessPolicyQuerySet(models.QuerySet["AccessPolicy"]):
    def enabled(self) -> AccessPolicyQuerySet:
        """Policies that take part in evaluation."""
        return self.filter(enabled=True)


class AccessPolicy(AuditedModel):
    """A decision, with Include/Require/Exclude rules, for the applications it is part of.

    The policy matches a request when any Include rule, every Require rule and no Exclude
    rule matches the verified client certificate; within an application, Bypass and Non
    Identity policies are evaluated before Allow and Block, each group by precedence. A
    policy belongs to one application, or is *reusable*: defined once and attached to several
    (each attachment with its own precedence). A reusable policy attached to no application
    enforces nothing.
    """

    name = models.CharField(max_length=100)
    decision = models.CharField(
        max_length=16,
        choices=DecisionChoices,
        default=DecisionChoices.NON_IDENTITY,
        help_text="Non Identity (Service Auth): a matching client certificate is let through. "
        "Allow: let through when the rules match; identity rules (Emails, Emails ending in, "
        "Everyone, Login method, OIDC claim) send people to log in first, certificate rules "
        "are checked on every request. Block: a match is refused. Bypass: let through "
        "without a session. Bypass and Non Identity decide on the certificate alone and are "
        "evaluated before Allow and Block.",
    )
    path_prefix = models.CharField(
        "Path prefix",
        max_length=200,
        default="/",
        blank=True,
        help_text="Only requests under this path of its applications (segment-aware: /api "
        "covers /api/x, not /apix). / is all of them.",
    )
    enabled = models.BooleanField(default=True)
    session_seconds = models.PositiveIntegerField(
        "Session duration",
        null=True,
        blank=True,
        default=24 * 3600,
        help_text=SESSION_HELP,
    )
    reusable = models.BooleanField(
        default=False, help_text="Defined once and attached to applications on their pages."
    )
    objects = AccessPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = "access policy"
        verbose_name_plural = "access policies"
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(reusable=True),
                name="policies_reusable_name_once",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Normalize the path prefix."""
        try:
            self.path_prefix = normalize_path_prefix(self.path_prefix or "")
        except InvalidRuleValue as exc:
            raise ValidationError({"path_prefix": str(exc)}) from None

    def session_label(self) -> str:
        """The session duration in the dashboard's words ("24 hours", "Same as …", "45m")."""
        return duration_label(self.session_seconds)

    def rules_in_words(self) -> list[str]:
        """``["Include: Common Name is device-7", …]`` (uses prefetched rules)."""
        return [describe_rule(rule.to_core()) for rule in self.rules.all()]

    def to_core(self, *, precedence: int, app_session_seconds: int) -> Policy:
        """The pure core's view of this policy in one application: its ``precedence`` there,
        and "Same as application" resolved to that application's duration."""
        session = self.session_seconds
        return Policy(
            id=self.pk,
            name=self.name,
            decision=Decision(self.decision),
            order=precedence,
            rules=tuple(rule.to_core() for rule in self.rules.all()),
            session_seconds=app_session_seconds if session is None else session,
            path_prefix=self.path_prefix or "/",
        )


class PolicyRule(models.Model):
    """One Include, Require or Exclude rule of a policy; ``value`` is empty for Valid
    Certificate and stored normalized (fingerprints lowercase hex without colons)."""

    policy = models.ForeignKey(AccessPolicy, on_delete=models.CASCADE, related_name="rules")
    group = models.CharField(max_length=8, choices=RuleGroupChoices, default="include")
    type = models.CharField(max_length=32, choices=RuleTypeChoices)
    value = models.CharField(
        max_length=255,
        blank=True,
        help_text="Exact value; SAN rules accept * (one or more characters; within one label "
        "for DNS names). Empty for Valid Certificate.",
    )

    class Meta:
        verbose_name = "rule"
        ordering = ["policy", "id"]

    def __str__(self) -> str:
        return describe_rule(self.to_core())

    def clean(self) -> None:
        """Check and normalize the value for its type (one definition: the pure core's)."""
        if not self.type:
            return  # the field's own "required" error is shown
        try:
            self.value = normalize_rule_value(RuleType(self.type), self.value or "")
        except InvalidRuleValue as exc:
            raise ValidationError({"value": str(exc)}) from None

    def to_core(self) -> Rule:
        """The pure core's view of this rule."""
        return Rule(RuleGroup(self.group), RuleType(self.type), self.value)
