"""Access applications: domains, a session duration, an AUD tag and an ordered list of
policies (each link with its own precedence)."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import models

from accessctl.core.hostnames import InvalidHostname, normalize_hostname
from accessctl.core.matching import InvalidRuleValue
from accessctl.core.policy import normalize_path_prefix
from apps.base.conf import is_dashboard_host
from apps.base.models import AuditedModel
from apps.policies.choices import DEFAULT_APP_SESSION_SECONDS, duration_label
from apps.policies.models.policies import DASHBOARD_HOSTNAME, AccessPolicy

AUD_TAG_BYTES = 32  # 64 hex characters, as Cloudflare's Application Audience (AUD) tags


def new_aud_tag() -> str:
    """A fresh AUD tag: random, made once per application, never derived from a secret."""
    return secrets.token_hex(AUD_TAG_BYTES)


class ApplicationQuerySet(models.QuerySet["Application"]):
    def enabled(self) -> ApplicationQuerySet:
        """Applications that take part in routing requests."""
        return self.filter(enabled=True)

    def serving(self, hostname: str) -> ApplicationQuerySet:
        """Applications with a domain on ``hostname`` (already normalized)."""
        return self.filter(domains__hostname=hostname).distinct()


class Application(AuditedModel):
    """A self-hosted Access application.

    A request goes to the enabled application whose domain covers it most specifically (the
    longest path). Its enabled policies decide it; an application without an enabled policy
    lets its requests through unchecked. The AUD tag is what an origin validates the
    ``Cf-Access-Jwt-Assertion`` token's ``aud`` against: 64 random hex characters, made once.
    ``token_generation`` is raised by Revoke tokens, which ends every session of the
    application (it is part of the application's configuration epoch).
    """

    name = models.CharField(max_length=255, unique=True)
    aud = models.CharField(
        "AUD tag",
        max_length=64,
        unique=True,
        default=new_aud_tag,
        editable=False,
        help_text="Application Audience tag: origins validate the token's aud against it.",
    )
    session_seconds = models.PositiveIntegerField(
        "Session duration",
        default=DEFAULT_APP_SESSION_SECONDS,
        help_text="How long a session lasts for policies set to “Same as application session "
        "timeout”.",
    )
    enabled = models.BooleanField(
        default=True, help_text="A disabled application routes no request; its sessions end."
    )
    token_generation = models.PositiveIntegerField(default=0, editable=False)
    tokens_revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = "application"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def session_label(self) -> str:
        """The session duration in the dashboard's words."""
        return duration_label(self.session_seconds)

    def domain_list(self) -> list[str]:
        """``["app.example.com", "app.example.com/api"]`` (uses prefetched domains)."""
        return [str(domain) for domain in self.domains.all()]

    def hostname_list(self) -> list[str]:
        """The hostnames of its domains, sorted, once each (uses prefetched domains)."""
        return sorted({domain.hostname for domain in self.domains.all()})


class ApplicationDomain(models.Model):
    """A hostname (normalized) and optional path prefix an application covers.

    One (hostname, path) belongs to one application; a hostname may carry several
    applications with different paths, and the most specific path wins.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="domains")
    hostname = models.CharField(max_length=253, db_index=True)
    path_prefix = models.CharField(
        "Path",
        max_length=200,
        default="/",
        blank=True,
        help_text="Optional, e.g. /api (segment-aware: it covers /api and /api/x, not /apix).",
    )

    class Meta:
        verbose_name = "domain"
        ordering = ["hostname", "path_prefix"]
        constraints = [
            models.UniqueConstraint(fields=["hostname", "path_prefix"], name="policies_domain_once")
        ]

    def __str__(self) -> str:
        return self.hostname if self.path_prefix in ("", "/") else self.hostname + self.path_prefix

    def clean(self) -> None:
        """Normalize the hostname and path; refuse a dashboard hostname (never enforced)."""
        try:
            self.hostname = normalize_hostname(self.hostname or "")
        except InvalidHostname as exc:
            raise ValidationError({"hostname": str(exc)}) from None
        try:
            self.path_prefix = normalize_path_prefix(self.path_prefix or "")
        except InvalidRuleValue as exc:
            raise ValidationError({"path_prefix": str(exc)}) from None
        if is_dashboard_host(self.hostname):
            # The middleware never enforces a dashboard hostname: refusing the domain is the
            # only way the operator learns that it would be ignored.
            raise ValidationError({"hostname": DASHBOARD_HOSTNAME}, code="dashboard_hostname")


class ApplicationPolicy(models.Model):
    """A policy's place in one application: its precedence, unique within the application
    (lower first; Bypass and Non Identity policies still go before Allow and Block)."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="policy_links"
    )
    policy = models.ForeignKey(AccessPolicy, on_delete=models.CASCADE, related_name="links")
    precedence = models.PositiveIntegerField()

    class Meta:
        verbose_name = "policy of the application"
        verbose_name_plural = "policies of the application"
        ordering = ["application", "precedence"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "precedence"], name="policies_precedence_once"
            ),
            models.UniqueConstraint(fields=["application", "policy"], name="policies_link_once"),
        ]

    def __str__(self) -> str:
        return f"{self.policy} in {self.application} (precedence {self.precedence})"

    def places(self) -> list[str]:
        """Where the policy applies through this application: each domain, with the policy's
        own path prefix (``app.example.com/api``) when it has one (uses prefetched domains)."""
        path = "" if self.policy.path_prefix in ("", "/") else self.policy.path_prefix
        found = []
        for domain in self.application.domains.all():
            if not path:
                found.append(str(domain))
            elif domain.path_prefix in ("", "/"):
                found.append(domain.hostname + path)
            else:
                found.append(f"{domain} (path {path})")
        return found or [self.application.name]
