"""The Mutual TLS forms of the dashboard: add (upload) and change (name, hostnames, enabled)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError

from accessctl.core.hostnames import InvalidHostname, parse_hostname_list
from accessctl.core.pem import MAX_BUNDLE_BYTES, MAX_CERTIFICATES, BundleError, decode_upload
from apps.trust.models import MtlsCertificate
from apps.trust.services import certificate_check, parse_hostnames

if TYPE_CHECKING:
    from django.http import QueryDict

    # django-stubs makes ModelForm generic; Django's own class cannot be subscripted at run time.
    _MtlsCertificateForm = forms.ModelForm[MtlsCertificate]
else:
    _MtlsCertificateForm = forms.ModelForm

HOSTNAMES_HELP = (
    "The fully-qualified hostnames this CA guards, separated by commas or new lines, e.g. "
    "app.example.com. A CA enforces nothing until a policy on the hostname requires it."
)


class HostnamesField(forms.CharField):
    """Associated hostnames as free text; the service parses and normalizes them."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60, "spellcheck": "false"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Associated hostnames")
        kwargs.setdefault("help_text", HOSTNAMES_HELP)
        super().__init__(**kwargs)

    def has_changed(self, initial: Any, data: Any) -> bool:
        """Compare the hostnames, not the text: order of typing, CRLF and case do not count."""
        try:
            return parse_hostname_list(initial or "") != parse_hostname_list(data or "")
        except InvalidHostname:
            return True


class MtlsCertificateAddForm(_MtlsCertificateForm):
    """Upload a CA bundle: pasted in **Certificate content** or as a file, and its hostnames.

    Everything is checked here by the same service the command uses; the admin stores the
    upload with :func:`apps.trust.services.certificate_create`.
    """

    pem = forms.CharField(
        label="Certificate content",
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={
                "rows": 14,
                "cols": 66,
                "spellcheck": "false",
                "placeholder": "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----",
            }
        ),
        help_text=(
            "The CA certificate in PEM. If client certificates come from an intermediate, "
            "paste the whole chain up to the root. Certificates only — never a private key. "
            f"At most {MAX_CERTIFICATES} certificates, {MAX_BUNDLE_BYTES // 1024} KiB."
        ),
    )
    pem_file = forms.FileField(
        label="Or upload a PEM file",
        required=False,
        help_text="Instead of pasting: a .pem or .crt file with the same content.",
    )
    hostnames = HostnamesField()

    class Meta:
        model = MtlsCertificate
        # The bundle fields are declared above and checked by the service; the model's own
        # validation only sees the name (the admin passes fields=None to keep this).
        fields = ["name"]

    def clean(self) -> dict[str, Any]:
        """Take the bundle from the textarea or the file, then check the whole upload.

        Every field is checked at once, so the operator sees all errors in one round; a field
        that already has an error (required, too long…) keeps only that one.
        """
        super().clean()  # a ModelForm's clean() returns its cleaned_data
        cleaned = self.cleaned_data
        pem_field, pem = self._bundle_text(cleaned)
        try:
            certificate_check(
                name=cleaned.get("name") or "",
                pem=pem or "",
                hostnames=[cleaned.get("hostnames") or ""],
            )
        except ValidationError as exc:
            for field, errors in exc.error_dict.items():
                target = pem_field if field == "pem" else field
                if not self.has_error(target):
                    self.add_error(target, errors)
                if any(e.code == "private_key" for e in errors):
                    _forget(self, field)
            return cleaned
        cleaned["pem"] = pem
        return cleaned

    def validate_unique(self) -> None:
        """The service already checked the name (one message, not two)."""

    def _bundle_text(self, cleaned: dict[str, Any]) -> tuple[str, str | None]:
        """(field to report errors on, bundle text) — None when an error was recorded."""
        pasted, upload = cleaned.get("pem") or "", cleaned.get("pem_file")
        if upload is not None and pasted.strip():
            self.add_error("pem_file", "Paste the certificate or upload a file, not both.")
            return "pem_file", None
        if upload is None:
            if not pasted.strip():
                self.add_error("pem", "Paste the CA certificate in PEM, or upload a file.")
                return "pem", None
            return "pem", pasted
        try:
            return "pem_file", decode_upload(upload.read(MAX_BUNDLE_BYTES + 1))
        except BundleError as exc:
            self.add_error("pem_file", ValidationError(exc.message, code=exc.code))
            return "pem_file", None


class MtlsCertificateChangeForm(_MtlsCertificateForm):
    """Change the name, the hostnames and enabled; the bundle itself is read-only."""

    hostnames = HostnamesField()

    class Meta:
        model = MtlsCertificate
        fields = ["name", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial.setdefault("hostnames", "\n".join(self.instance.hostname_list()))

    def clean_hostnames(self) -> list[str]:
        """Normalized hostnames; the error names the bad one."""
        try:
            return parse_hostnames(self.cleaned_data["hostnames"])
        except ValidationError as exc:
            if exc.code == "private_key":
                _forget(self, "hostnames")
            raise


def _forget(form: forms.BaseForm, field: str) -> None:
    """Do not send a pasted private key back to the browser in the re-rendered form."""
    # request.POST (a QueryDict) in the dashboard, a dict when a form is built in code: both
    # copy() into a mutable mapping of the same kind.
    data = cast("QueryDict | dict[str, Any]", form.data).copy()
    data[field] = ""
    form.data = data
