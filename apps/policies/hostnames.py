"""Hostnames seen from both sides: the ones the trust store binds and the ones applications
guard, and where the two disagree (which the dashboard and `policies list` must show)."""

from __future__ import annotations

from apps.policies.models import ApplicationDomain
from apps.trust.models import AssociatedHostname


def associated_hostnames() -> list[str]:
    """Hostnames some uploaded certificate is associated with: what the policy form offers."""
    return list(
        AssociatedHostname.objects.order_by("hostname")
        .values_list("hostname", flat=True)
        .distinct()
    )


def bound_hostnames() -> set[str]:
    """Hostnames an *enabled* certificate is bound to: the only ones a client can verify on."""
    return set(
        AssociatedHostname.objects.filter(certificate__enabled=True).values_list(
            "hostname", flat=True
        )
    )


def guarded_hostnames() -> set[str]:
    """Hostnames an enabled application with an enabled policy covers: the only ones a bound
    CA is enforced on (a CA alone enforces nothing, as in Cloudflare)."""
    return set(
        ApplicationDomain.objects.filter(
            application__enabled=True, application__policy_links__policy__enabled=True
        ).values_list("hostname", flat=True)
    )


def unenforced_hostnames() -> list[str]:
    """Hostnames bound to an enabled certificate but guarded by no application: requests to
    them pass through unchecked."""
    return sorted(bound_hostnames() - guarded_hostnames())


def hostnames_without_ca() -> list[str]:
    """Hostnames an application guards but no enabled certificate is bound to: no client can
    be verified there, so every certificate rule fails (the usual cause: a CA removed or
    disabled after its applications were set up)."""
    return sorted(guarded_hostnames() - bound_hostnames())
