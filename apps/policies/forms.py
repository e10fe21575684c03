"""Dashboard forms: the policy form, its rule formset and the policy tester."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from django import forms
from django.core.exceptions import ValidationError

from accessctl.core.hostnames import hostname_label
from accessctl.core.pem import contains_private_key
from apps.policies.models import AccessPolicy, associated_hostnames, validate_rule_groups

NO_HOSTNAME_HELP = "No hostname yet: upload a certificate under Mutual TLS and associate one."
MAX_PEM_LENGTH = 64 * 1024


def _hostname_select(current: str | None = None) -> forms.Select:
    """Associated hostnames as a dropdown; the current value stays listed when editing."""
    names = associated_hostnames()
    if current and current not in names:
        names = sorted([*names, current])
    return forms.Select(choices=[("", "---------"), *((h, hostname_label(h)) for h in names)])


class AccessPolicyForm(forms.ModelForm):
    """The policy page. The hostname is a dropdown of associated hostnames; anything else
    posted is refused by ``AccessPolicy.clean`` with the "associate … first" message."""

    class Meta:
        model = AccessPolicy
        fields = [
            "name",
            "hostname",
            "path_prefix",
            "decision",
            "order",
            "session_duration",
            "enabled",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["hostname"]
        field.widget = _hostname_select(self.instance.hostname if self.instance.pk else None)
        if len(field.widget.choices) == 1:
            field.help_text = NO_HOSTNAME_HELP


class RuleFormSet(forms.BaseInlineFormSet):
    """Rules of one policy: at least one Include rule among the rows that are kept."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return  # field errors are shown next to their fields first
        groups = [
            form.cleaned_data.get("group")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        validate_rule_groups(g for g in groups if g)


def parse_certificates(text: str, *, field: str) -> list[x509.Certificate]:
    """PEM certificates from a pasted text; refuse private keys, garbage and oversize input."""
    if len(text) > MAX_PEM_LENGTH:
        raise ValidationError(f"At most {MAX_PEM_LENGTH // 1024} KiB of PEM.")
    if contains_private_key(text):
        raise ValidationError(
            "This contains a private key. Paste only the certificate; never share the key."
        )
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValidationError(f"No PEM certificate found in the {field}.")
    try:
        return x509.load_pem_x509_certificates(text.encode())
    except ValueError as exc:
        raise ValidationError(f"The {field} is not valid PEM: {exc}") from None


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

    def __init__(self, *args: Any, hostnames: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hostname"].choices = [(h, hostname_label(h)) for h in hostnames]

    def clean_path(self) -> str:
        path: str = self.cleaned_data["path"].strip() or "/"
        if not path.startswith("/"):
            raise ValidationError("A path starts with /.")
        return path.split("?", 1)[0].split("#", 1)[0]

    def clean_certificate(self) -> list[x509.Certificate]:
        text = self.cleaned_data["certificate"].strip()
        return parse_certificates(text, field="certificate") if text else []

    def clean_chain(self) -> list[x509.Certificate]:
        text = self.cleaned_data["chain"].strip()
        return parse_certificates(text, field="chain") if text else []
