"""The policy tester: paste a client certificate, pick a hostname, see every step decided."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography import x509
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from accessctl.core.identity import ClientIdentity, presented_identity
from accessctl.core.pem import contains_private_key
from accessctl.core.policy import Explanation, RequestFacts, describe_rule, explain
from accessctl.core.snapshot import HostConfig
from accessctl.core.verify import ChainError, verify_client_chain
from apps.gateway.snapshot import build_snapshot
from apps.policies.forms import PolicyTesterForm

TESTER_PERMISSION = "policies.view_accesspolicy"


@dataclass(frozen=True)
class ChainResult:
    """What verification said about the pasted certificate."""

    ok: bool
    reason: str  # "verified", "no_certificate" or a ChainError reason code
    detail: str
    identity: ClientIdentity | None  # of the verified leaf only
    leaf: ClientIdentity | None  # facts of the pasted leaf, verified or not, for display


def _verify(
    host: HostConfig, certs: list[x509.Certificate], chain: list[x509.Certificate]
) -> ChainResult:
    """Verify the pasted leaf (the first certificate) as the middleware would."""
    if not certs:
        return ChainResult(False, "no_certificate", "no certificate was pasted", None, None)
    leaf, extra = certs[0], [*certs[1:], *chain]
    shown = presented_identity(leaf)
    try:
        verified = verify_client_chain(
            leaf,
            extra,
            host.anchors,
            now=timezone.now(),
            max_depth=settings.ACCESSCTL_MAX_CHAIN_DEPTH,
        )
    except ChainError as exc:
        return ChainResult(False, exc.reason, exc.detail, None, shown)
    path = " → ".join(c.subject.rfc4514_string() for c in verified.chain)
    return ChainResult(True, "verified", path, verified.identity, shown)


def _rows(explanation: Explanation) -> list[dict[str, Any]]:
    return [
        {
            "check": check,
            "rules": [(describe_rule(r.rule), r) for r in check.rules],
        }
        for check in explanation.policies
    ]


def policy_tester(request: HttpRequest, admin_context: dict[str, Any]) -> HttpResponse:
    """GET: the empty form. POST: the decision for the pasted certificate, step by step.

    Reads the configuration straight from the database (a fresh snapshot), so a policy just
    saved is tested at once. Needs ``policies.view_accesspolicy``.
    """
    if not request.user.has_perm(TESTER_PERMISSION):
        raise PermissionDenied
    snapshot = build_snapshot("tester")
    hostnames = sorted(snapshot.hosts)
    context: dict[str, Any] = {**admin_context, "title": "Policy tester", "hostnames": hostnames}
    if request.method == "POST":
        data = request.POST.copy()
        for field in ("certificate", "chain"):
            # The trust store's own detector (any armour, any case, PuTTY), not a plain
            # "PRIVATE KEY" search: whatever it misses would be echoed back into the page.
            if contains_private_key(data.get(field, "")):
                data[field] = ""
                context["key_refused"] = True
        form = PolicyTesterForm(data, hostnames=hostnames)
        if context.get("key_refused"):
            form.is_valid()
            form.add_error(
                None, "A private key was pasted and discarded. Paste only the certificate."
            )
        elif form.is_valid():
            host = snapshot.hosts[form.cleaned_data["hostname"]]
            result = _verify(host, form.cleaned_data["certificate"], form.cleaned_data["chain"])
            facts = RequestFacts(
                hostname=host.hostname,
                path=form.cleaned_data["path"],
                identity=result.identity,
                certificate_error=None if result.ok else result.reason,
                now=timezone.now(),
            )
            explanation = explain(host.policies, facts)
            context.update(
                host=host,
                chain=result,
                outcome=explanation.outcome,
                policies=_rows(explanation),
                now=facts.now,
            )
    else:
        form = PolicyTesterForm(hostnames=hostnames, initial={"path": "/"})
    context["form"] = form
    return TemplateResponse(request, "admin/policies/accesspolicy/tester.html", context)
