"""Access policies: who may reach a hostname (or a path of it), decided by rules on the client
certificate. The request path never reads these models: ``apps.gateway.snapshot`` converts
them into the pure core's types once per configuration change."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from accessctl.core.hostnames import InvalidHostname, normalize_hostname
from accessctl.core.matching import InvalidRuleValue
from accessctl.core.policy import (
    Decision,
    Policy,
    Rule,
    RuleGroup,
    RuleType,
    describe_rule,
    normalize_path_prefix,
    normalize_rule_value,
)
from apps.console.models import AuditedModel
from apps.policies.choices import (
    SESSION_SECONDS,
    DecisionChoices,
    RuleGroupChoices,
    RuleTypeChoices,
    SessionDuration,
)
from apps.trust.models import AssociatedHostname

UNBOUND_HOSTNAME = "Associate this hostname with a certificate first (Mutual TLS)."
MISSING_INCLUDE = "A policy needs at least one Include rule."
DASHBOARD_HOSTNAME = (
    "This hostname serves the dashboard (ACCESSCTL_DASHBOARD_HOSTS), which is never enforced: "
    "a policy here would protect nothing."
)


def app_session_seconds() -> int:
    """The application-level session timeout, for "Same as application session timeout"."""
    return int(getattr(settings, "ACCESSCTL_APP_SESSION_DURATION", 86400))


def validate_rule_groups(groups: Iterable[str]) -> None:
    """Refuse a rule set without an Include rule (Cloudflare: every policy has one)."""
    if RuleGroup.INCLUDE.value not in set(groups):
        raise ValidationError(MISSING_INCLUDE, code="missing_include")


class AccessPolicyQuerySet(models.QuerySet):
    def enabled(self) -> AccessPolicyQuerySet:
        """Policies that take part in evaluation."""
        return self.filter(enabled=True)


class AccessPolicy(AuditedModel):
    """A decision for requests to one hostname (optionally under a path prefix).

    The policy matches a request when any Include rule, every Require rule and no Exclude
    rule matches the verified client certificate; Bypass and Non Identity policies are
    evaluated before Allow and Block, each group by ``order``.
    """

    hostname = models.CharField(
        max_length=253,
        db_index=True,
        help_text="A hostname associated with an uploaded certificate (Mutual TLS).",
    )
    path_prefix = models.CharField(
        "Path prefix",
        max_length=200,
        default="/",
        blank=True,
        help_text="Only requests under this path (segment-aware: /api covers /api/x, not "
        "/apix). / is the whole site.",
    )
    name = models.CharField(max_length=100)
    decision = models.CharField(
        max_length=16,
        choices=DecisionChoices,
        default=DecisionChoices.NON_IDENTITY,
        help_text="Non Identity (Service Auth): a matching client certificate is let through. "
        "Allow currently behaves like Non Identity (the identity layer comes later). "
        "Block: a matching certificate is refused. Bypass: let through without a session. "
        "Bypass and Non Identity policies are evaluated before Allow and Block.",
    )
    order = models.PositiveIntegerField(
        default=1, help_text="Precedence within its group: lower numbers are evaluated first."
    )
    enabled = models.BooleanField(default=True)
    session_duration = models.CharField(
        max_length=16,
        choices=SessionDuration,
        default=SessionDuration.HOURS_24,
        help_text="How long a client stays signed in after its certificate was accepted. "
        '"No duration" asks for the certificate on every request.',
    )
    objects = AccessPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = "access policy"
        verbose_name_plural = "access policies"
        ordering = ["hostname", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["hostname", "name"], name="policies_name_per_host")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.hostname})"

    def clean(self) -> None:
        """Normalize hostname and path; refuse a hostname no certificate is associated with,
        and a dashboard hostname (never enforced).

        An existing policy keeps its hostname even after the association is removed, so that
        it can still be disabled or edited; it then verifies no client (fails closed).
        """
        try:
            self.hostname = normalize_hostname(self.hostname or "")
        except InvalidHostname as exc:
            raise ValidationError({"hostname": str(exc)}) from None
        try:
            self.path_prefix = normalize_path_prefix(self.path_prefix or "")
        except InvalidRuleValue as exc:
            raise ValidationError({"path_prefix": str(exc)}) from None
        unchanged = (
            self.pk is not None
            and AccessPolicy.objects.filter(pk=self.pk, hostname=self.hostname).exists()
        )
        if not unchanged and not AssociatedHostname.objects.filter(hostname=self.hostname).exists():
            raise ValidationError({"hostname": UNBOUND_HOSTNAME}, code="unbound_hostname")
        # Imported here: the gateway's snapshot module imports this one.
        from apps.gateway.decision import is_dashboard_host

        if is_dashboard_host(self.hostname):
            # The middleware never enforces a dashboard hostname: refusing the policy is the
            # only way the operator learns that it would be ignored.
            raise ValidationError({"hostname": DASHBOARD_HOSTNAME}, code="dashboard_hostname")

    @property
    def session_seconds(self) -> int:
        """The session duration in seconds (0: no duration)."""
        if self.session_duration == SessionDuration.APP:
            return app_session_seconds()
        return SESSION_SECONDS[self.session_duration]

    def rules_in_words(self) -> list[str]:
        """``["Include: Common Name is device-7", …]`` (uses prefetched rules)."""
        return [describe_rule(rule.to_core()) for rule in self.rules.all()]

    def to_core(self) -> Policy:
        """The pure core's view of this policy, as the evaluator sees it."""
        return Policy(
            id=self.pk,
            name=self.name,
            decision=Decision(self.decision),
            order=self.order,
            rules=tuple(rule.to_core() for rule in self.rules.all()),
            session_seconds=self.session_seconds,
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


def associated_hostnames() -> list[str]:
    """Hostnames some uploaded certificate is associated with: the ones a policy may use."""
    return list(
        AssociatedHostname.objects.order_by("hostname")
        .values_list("hostname", flat=True)
        .distinct()
    )


def unenforced_hostnames() -> list[str]:
    """Hostnames bound to an enabled certificate but without an enabled policy.

    As in Cloudflare, a CA alone enforces nothing: requests to these hostnames pass through
    unchecked, which the dashboard must make visible.
    """
    bound = set(
        AssociatedHostname.objects.filter(certificate__enabled=True).values_list(
            "hostname", flat=True
        )
    )
    guarded = set(AccessPolicy.objects.enabled().values_list("hostname", flat=True))
    return sorted(bound - guarded)


def hostnames_without_ca() -> list[str]:
    """Hostnames with an enabled policy but no enabled certificate bound to them.

    Their requests are all denied (no CA can verify a client): the usual cause is a CA that
    was removed or disabled after its policies were written, which the dashboard must show.
    """
    guarded = set(AccessPolicy.objects.enabled().values_list("hostname", flat=True))
    bound = set(
        AssociatedHostname.objects.filter(certificate__enabled=True).values_list(
            "hostname", flat=True
        )
    )
    return sorted(guarded - bound)
