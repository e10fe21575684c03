"""The revocation forms of the dashboard: add a CRL (file, paste or URL), revoke a certificate.

Each form runs the service's own checks in ``clean()`` so that every refusal shows next to its
field, and nothing is stored by the form itself: the admin stores with the services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError

from accessctl.core.revocation import MAX_CRL_BYTES
from apps.revocation.choices import RevokedBy, WhenStale
from apps.revocation.models import CertificateRevocationList, Revocation
from apps.revocation.services import (
    FetchError,
    check_url,
    crl_check,
    distribution_points,
    fetch,
    normalized,
)
from apps.trust.models import MtlsCertificate

if TYPE_CHECKING:
    _CrlForm = forms.ModelForm[CertificateRevocationList]
    _RevocationForm = forms.ModelForm[Revocation]
else:
    _CrlForm = forms.ModelForm
    _RevocationForm = forms.ModelForm


class CrlAddForm(_CrlForm):
    """A CRL for one uploaded Mutual TLS certificate: a file (PEM or DER), pasted PEM, or a
    URL to fetch it from (and refresh it from later)."""

    bundle = forms.ModelChoiceField(
        label="mTLS Certificate",
        queryset=MtlsCertificate.objects.order_by("name"),
        help_text="The uploaded CA (bundle) whose root or intermediate signed the CRL.",
    )
    crl_file = forms.FileField(
        label="CRL file", required=False, help_text="PEM or DER, as the CA publishes it."
    )
    crl_text = forms.CharField(
        label="Or paste the CRL (PEM)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 66, "spellcheck": "false"}),
    )
    url = forms.CharField(
        label="Or fetch it from a URL",
        required=False,
        max_length=500,
        help_text="http:// or https://; refreshed from there by `accessctl certificates crl "
        "refresh`. Type `auto` for the distribution points named in the upload.",
    )

    class Meta:
        model = CertificateRevocationList
        fields = ["when_stale"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        bundle = data.get("bundle")
        if bundle is None:
            return data
        upload, text, url = data.get("crl_file"), data.get("crl_text", ""), data.get("url", "")
        given = [
            name
            for name, value in (("crl_file", upload), ("crl_text", text), ("url", url))
            if value
        ]
        if len(given) != 1:
            raise ValidationError("Give the CRL one way: a file, pasted PEM, or a URL.")
        field = given[0]
        try:
            if field == "url":
                data["crl_data"], data["fetched_from"] = self._fetch(bundle, url.strip())
            elif field == "crl_file" and upload is not None:
                if upload.size > MAX_CRL_BYTES:
                    raise ValidationError({"crl": f"a CRL is at most {MAX_CRL_BYTES // 2**20} MiB"})
                data["crl_data"] = upload.read()
            else:
                data["crl_data"] = text.encode("utf-8", "replace")
            crl_check(bundle=bundle, data=data["crl_data"])
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                self.add_error(field if key in {"crl", "url"} else None, messages)
        return data

    @staticmethod
    def _fetch(bundle: MtlsCertificate, url: str) -> tuple[bytes, str]:
        urls = distribution_points(bundle) if url == "auto" else [check_url(url)]
        if not urls:
            raise ValidationError(
                {"url": "no certificate of this upload names a distribution point"}
            )
        problems = []
        for candidate in urls:
            try:
                return fetch(candidate), candidate
            except FetchError as exc:
                problems.append(str(exc))
        raise ValidationError({"url": "; ".join(problems)})


class CrlChangeForm(_CrlForm):
    """What may change on a stored CRL: where it is refreshed from, and the stale choice."""

    url = forms.URLField(
        label="Fetched from",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Where the refresh fetches the next CRL (empty: uploaded by hand only).",
    )

    class Meta:
        model = CertificateRevocationList
        fields = ["url", "when_stale"]


class RevocationForm(_RevocationForm):
    """Revoke a certificate by serial number or SHA-256 fingerprint, with why."""

    kind = forms.ChoiceField(
        label="Revoke by", choices=RevokedBy.choices, initial=RevokedBy.FINGERPRINT
    )
    # As typed (AB:CD:… is 95 characters): normalized to the stored form by clean().
    value = forms.CharField(
        label="Serial number or fingerprint",
        max_length=200,
        help_text="Hexadecimal; colons and spaces allowed (AB:CD:… as openssl prints it).",
    )

    class Meta:
        model = Revocation
        fields = ["kind", "value", "reason"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, value = data.get("kind"), data.get("value")
        if kind and value:
            try:
                data["value"] = normalized(kind, value)
            except ValidationError as exc:
                for key, messages in exc.message_dict.items():
                    self.add_error(key if key in self.fields else None, messages)
                return data
            if Revocation.objects.active().filter(kind=kind, value=data["value"]).exists():
                self.add_error("value", "This certificate is revoked already.")
        return data

    def validate_unique(self) -> None:
        """The duplicate check is clean()'s, with a message in the operator's words."""


WHEN_STALE_HELP = WhenStale.REFUSE.label
