"""The policy tester: paste a client certificate, pick a hostname, see every step decided.

It runs the request path's own steps on the paste: the PEM is read as a forwarded PEM chain
is read (``accessctl.core.forwarded.decode_pem``), the chain is parsed, verified and described
by the one verification function the gateway calls (``accessctl.core.verify
.check_certificate``), and the policies are evaluated by the same evaluator, on a snapshot
built by the gateway's own builder. So the tester can never call "verified" what enforcement
refuses. Served at ``/admin/policies/accesspolicy/tester/`` (``AccessConsole.get_urls``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from accessctl.core.forwarded import ForwardedCertError, decode_pem
from accessctl.core.hostnames import hostname_label
from accessctl.core.identity import ClientIdentity
from accessctl.core.matching import InvalidRuleValue
from accessctl.core.pem import contains_private_key
from accessctl.core.people import Person, split_claim
from accessctl.core.policy import Explanation, RequestFacts, describe_rule, explain
from accessctl.core.reasons import Reason
from accessctl.core.snapshot import HostConfig
from accessctl.core.verify import CertificateCheck, check_certificate
from apps.base.conf import access_settings
from apps.gateway.snapshot import build_snapshot
from apps.policies.models import TESTER_PERMISSION

MAX_PEM_LENGTH = 64 * 1024
VERIFIED = "verified"


def parse_certificates(text: str, *, field: str) -> str:
    """The pasted PEM, checked as the request path would read it; ``ValidationError`` with a
    message for the operator (oversize, a private key, no certificate, not readable)."""
    if len(text) > MAX_PEM_LENGTH:
        raise ValidationError(f"At most {MAX_PEM_LENGTH // 1024} KiB of PEM.")
    if contains_private_key(text):
        raise ValidationError(
            "This contains a private key. Paste only the certificate; never share the key."
        )
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValidationError(f"No PEM certificate found in the {field}.")
    try:
        decode_pem(text, max_intermediates=MAX_PEM_LENGTH)
    except ForwardedCertError as exc:
        raise ValidationError(
            f"The {field} is not valid PEM: {exc.detail or exc.reason} ({exc.reason})"
        ) from None
    return text


class PolicyTesterForm(forms.Form):
    """What the policy tester asks for: a hostname, a path and a client certificate."""

    hostname = forms.ChoiceField()
    path = forms.CharField(initial="/", max_length=2000)
    certificate = forms.CharField(
        label="Client certificate (PEM)",
        widget=forms.Textarea(attrs={"rows": 10, "cols": 70, "spellcheck": "false"}),
        required=False,
        help_text="Leave empty to see what happens to a request without a certificate. "
        "Extra certificates after the first are used as its chain.",
    )
    chain = forms.CharField(
        label="Chain (PEM, optional)",
        widget=forms.Textarea(attrs={"rows": 6, "cols": 70, "spellcheck": "false"}),
        required=False,
        help_text="Intermediates the TLS terminator would forward with the certificate.",
    )
    email = forms.EmailField(
        label="Signed in as (email, optional)",
        required=False,
        help_text="For identity rules: the person a login established. Empty: nobody signed "
        "in (a browser would be sent to the login page).",
    )
    login_method = forms.CharField(
        label="Login method ID (optional)", required=False, max_length=20
    )
    claims = forms.CharField(
        label="OIDC claims (optional)",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70, "spellcheck": "false"}),
        required=False,
        help_text="One claim=value a line, e.g. groups=admins (repeat a name for a list).",
    )

    def __init__(self, *args: Any, hostnames: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hostname = cast(forms.ChoiceField, self.fields["hostname"])  # declared above
        hostname.choices = [(h, hostname_label(h)) for h in hostnames]

    def clean_path(self) -> str:
        path: str = self.cleaned_data["path"].strip() or "/"
        if not path.startswith("/"):
            raise ValidationError("A path starts with /.")
        return path.split("?", 1)[0].split("#", 1)[0]

    def clean_certificate(self) -> str:
        text: str = self.cleaned_data["certificate"].strip()
        return parse_certificates(text, field="certificate") if text else ""

    def clean_claims(self) -> dict[str, tuple[str, ...]]:
        claims: dict[str, list[str]] = {}
        for line in self.cleaned_data["claims"].splitlines():
            if not line.strip():
                continue
            try:
                name, value = split_claim(line)
            except InvalidRuleValue as exc:
                raise ValidationError(f"{line.strip()!r}: {exc}") from None
            claims.setdefault(name, []).append(value)
        return {name: tuple(values) for name, values in claims.items()}

    def person(self) -> Person | None:
        """The person the tester pretends signed in, or None."""
        email = self.cleaned_data.get("email") or ""
        if not email:
            return None
        claims = self.cleaned_data.get("claims") or {}
        return Person(
            email=email.lower(),
            subject="policy-tester",
            login_method=self.cleaned_data.get("login_method") or "",
            groups=claims.get("groups", ()),
            claims=claims,
        )

    def clean_chain(self) -> str:
        text: str = self.cleaned_data["chain"].strip()
        return parse_certificates(text, field="chain") if text else ""


@dataclass(frozen=True)
class ChainResult:
    """What verification said about the pasted certificate, as the page shows it."""

    ok: bool
    reason: str  # "verified", or the refusal's reason code
    detail: str  # the verified path, or why not
    identity: ClientIdentity | None  # of the verified leaf only
    leaf: ClientIdentity | None  # facts of the pasted leaf, verified or not, for display
    # The revocation check of a verified path: refused (revoked, or a stale CRL refused), or
    # each CRL it was checked against and any stale CRL accepted by the operator's choice.
    revocation_refused: bool = False
    revocation: tuple[str, ...] = ()


def check_paste(
    host_config: HostConfig, certificate: str, chain: str, *, now: dt.datetime
) -> CertificateCheck:
    """The pasted leaf (and chain) through the request path's verification; never raises."""
    depth = access_settings().max_chain_depth
    try:
        forwarded = decode_pem(f"{certificate}\n{chain}", max_intermediates=depth)
    except ForwardedCertError as exc:
        return CertificateCheck.refused(exc.reason, exc.detail, now)
    if forwarded is None:
        return CertificateCheck.refused(Reason.NO_CERTIFICATE, "no certificate was pasted", now)
    return check_certificate(forwarded, host_config.anchors, now=now, max_depth=depth)


def chain_result(check: CertificateCheck) -> ChainResult:
    """The page's view of a :class:`CertificateCheck`."""
    path = " → ".join(check.path)
    revocation = (*check.revocation.warnings, *check.revocation.checked)
    if check.identity is not None:
        return ChainResult(
            True, VERIFIED, path, check.identity, check.presented, revocation=revocation
        )
    if check.error in {Reason.CERTIFICATE_REVOKED, Reason.CRL_STALE}:
        # The path verified; revocation refused it.
        return ChainResult(
            False,
            str(check.error),
            f"{check.detail} (path: {path})",
            None,
            check.presented,
            revocation_refused=True,
            revocation=(check.detail,),
        )
    return ChainResult(False, str(check.error), check.detail, None, check.presented)


def _rows(explanation: Explanation) -> list[dict[str, Any]]:
    return [
        {"check": check, "rules": [(describe_rule(r.rule), r) for r in check.rules]}
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
            # The trust store's own detector (any armour, any case, PuTTY): whatever it
            # missed would be echoed back into the page.
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
            host_config = snapshot.hosts[form.cleaned_data["hostname"]]
            now = timezone.now()
            check = check_paste(
                host_config, form.cleaned_data["certificate"], form.cleaned_data["chain"], now=now
            )
            facts = RequestFacts(
                hostname=host_config.hostname,
                path=form.cleaned_data["path"],
                identity=check.identity,
                certificate_error=check.error,
                now=now,
                person=form.person(),
            )
            # The application the request would be routed to (none: not enforced there).
            route = host_config.route_for(form.cleaned_data["path"])
            application = route.application if route is not None else None
            policies = application.policies if application is not None else ()
            explanation = explain(policies, facts)
            context.update(
                host=host_config,
                application=application,
                chain=chain_result(check),
                outcome=explanation.outcome,
                policies=_rows(explanation),
                now=now,
            )
    else:
        form = PolicyTesterForm(hostnames=hostnames, initial={"path": "/"})
    context["form"] = form
    return TemplateResponse(request, "admin/policies/accesspolicy/tester.html", context)
