"""Service Auth → Mutual TLS: the dashboard pages of the trust store.

The list shows each uploaded CA bundle with its hostnames (and which other bundles share
them), the root's subject, the expiry with days left and a flag, and the root's fingerprint.
The add page uploads a bundle; the change page shows every certificate of the chain and lets
the operator change only the name, the hostnames and enabled. All writes go through
``apps.trust.services``.
"""

from __future__ import annotations

import datetime as dt
from string import hexdigits
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from accessctl.core.truststore import short_fingerprint
from apps.base.admin import RaceAsMessage
from apps.trust.choices import ExpiryState, expiry_state_at
from apps.trust.enforcement import guarded_hostnames
from apps.trust.forms import MtlsCertificateAddForm, MtlsCertificateChangeForm
from apps.trust.models import (
    AssociatedHostname,
    CaCertificate,
    MtlsCertificate,
    MtlsCertificateQuerySet,
    hostname_owners,
)
from apps.trust.services import certificate_create, certificate_delete, certificate_update

if TYPE_CHECKING:
    # django-stubs makes ModelAdmin generic; Django's own class cannot be subscripted at run time.
    _MtlsCertificateAdminBase = admin.ModelAdmin[MtlsCertificate]
else:
    _MtlsCertificateAdminBase = admin.ModelAdmin


def _date(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


class HostnameFilter(admin.SimpleListFilter):
    """Bundles bound to one hostname."""

    title = "associated hostname"
    parameter_name = "hostname"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        hostnames = AssociatedHostname.objects.order_by("hostname").values_list(
            "hostname", flat=True
        )
        return [(h, h) for h in hostnames.distinct()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(hostnames__hostname=value) if value else queryset


class ExpiryFilter(admin.SimpleListFilter):
    """Bundles by expiry flag: expired, within 14 days, within 30 days, fine."""

    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(ExpiryState.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        # The filter belongs to MtlsCertificateAdmin, whose get_queryset() gives with_expiry().
        bundles = cast(MtlsCertificateQuerySet, queryset)
        return bundles.in_expiry_state(value) if value else queryset


NOT_ENFORCED = mark_safe(  # noqa: S308  a constant
    '<span class="not-enforced-host">(not enforced: no policy)</span>'
)


class MtlsChangeList(ChangeList):
    """The list page; after paging, finds in one query which hostnames other bundles share,
    and in one more which hostnames a policy guards."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        self.result_list = list(self.result_list)
        owners = hostname_owners(
            h.hostname for obj in self.result_list for h in obj.hostnames.all()
        )
        guarded = guarded_hostnames()
        for obj in self.result_list:
            obj.hostname_owners = owners
            obj.guarded_hostnames = guarded


@admin.register(MtlsCertificate)
class MtlsCertificateAdmin(RaceAsMessage, _MtlsCertificateAdminBase):
    """Service Auth → Mutual TLS: uploaded CA certificates and their hostnames."""

    form = MtlsCertificateChangeForm
    add_form = MtlsCertificateAddForm
    list_display = [
        "name",
        "associated_hostnames",
        "subject",
        "expiry",
        "fingerprint",
        "enabled",
    ]
    list_display_links = ["name"]
    list_filter = [HostnameFilter, ExpiryFilter, "enabled"]
    search_fields = [
        "name",
        "hostnames__hostname",
        "certificates__subject",
        "certificates__fingerprint_sha256",
    ]
    search_help_text = "Name, hostname, subject or SHA-256 fingerprint (colons allowed)."
    readonly_fields = [
        "hostname_sharing",
        "enforcement",
        "chain",
        "bundle_text",
        "created",
        "updated",
    ]
    add_fieldsets = [(None, {"fields": ["name", "pem", "pem_file", "hostnames"]})]
    fieldsets = [
        (None, {"fields": ["name", "hostnames", "hostname_sharing", "enforcement", "enabled"]}),
        (
            "Certificates",
            {
                "fields": ["chain"],
                "description": "The bundle cannot be edited: to rotate a CA, upload the new "
                "one on the same hostnames, then disable or delete this one.",
            },
        ),
        ("Bundle (PEM)", {"classes": ["collapse"], "fields": ["bundle_text"]}),
        ("History", {"fields": ["created", "updated"]}),
    ]

    # --- queries ------------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[MtlsCertificate]:
        # The default manager is MtlsCertificateQuerySet.as_manager().
        bundles = cast(MtlsCertificateQuerySet, super().get_queryset(request))
        return (
            bundles.with_expiry()
            .select_related("created_by", "updated_by")
            .prefetch_related(
                "hostnames",
                Prefetch("certificates", queryset=CaCertificate.objects.defer("der")),
            )
        )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return MtlsChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """Fingerprints are stored as lowercase hex: accept them as ``AB:CD:…`` too."""
        compact = search_term.strip().replace(":", "").lower()
        if len(compact) >= 8 and all(c in hexdigits for c in compact):
            search_term = compact
        return super().get_search_results(request, queryset, search_term)

    # --- forms and writes ---------------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: MtlsCertificate | None = None) -> Any:
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)

    def get_form(
        self,
        request: HttpRequest,
        obj: MtlsCertificate | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm[MtlsCertificate]]:
        if obj is None:
            kwargs["form"] = self.add_form
        if obj is None or self.has_change_permission(request, obj):
            # The forms' Meta.fields say which model fields the model validates; the bundle
            # and hostname fields are the forms' own, checked by the service. (View-only
            # staff keep the admin's default: every field excluded and shown read-only.)
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: MtlsCertificate, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            certificate_update(
                certificate=obj,
                name=data["name"],
                hostnames=data["hostnames"],
                enabled=data["enabled"],
                user=request.user,
            )
            return
        created = certificate_create(
            name=data["name"], pem=data["pem"], hostnames=[data["hostnames"]], user=request.user
        )
        # The admin goes on with its own instance (LogEntry, redirect): make it the stored row.
        obj.pk = created.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: MtlsCertificate) -> None:
        certificate_delete(certificate=obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MtlsCertificate]) -> None:
        for obj in queryset:
            certificate_delete(certificate=obj, user=request.user)

    # --- list columns -------------------------------------------------------------------------

    @admin.display(description="Associated hostnames")
    def associated_hostnames(self, obj: MtlsCertificate) -> SafeString:
        return self._hostnames_html(
            obj, getattr(obj, "hostname_owners", None), getattr(obj, "guarded_hostnames", None)
        )

    @admin.display(description="Associated hostnames")
    def hostnames(self, obj: MtlsCertificate) -> SafeString:
        """The read-only view of the hostnames, for staff who may view but not change."""
        return self._hostnames_html(obj, None, None)

    def _hostnames_html(
        self,
        obj: MtlsCertificate,
        owners: dict[str, list[tuple[int, str]]] | None,
        guarded: set[str] | None,
    ) -> SafeString:
        hostnames = obj.hostname_list()
        if owners is None:
            owners = hostname_owners(hostnames)
        if guarded is None:
            guarded = guarded_hostnames()
        items = []
        for hostname in hostnames:
            item = format_html("{}", hostname)
            others = [name for pk, name in owners.get(hostname, []) if pk != obj.pk]
            if others:
                item = format_html(
                    '{} <span class="shared-hostname" title="This hostname is also bound '
                    'to other certificates: a client of any of them is accepted.">'
                    "(shared with: {})</span>",
                    item,
                    ", ".join(others),
                )
            if hostname not in guarded:
                # As in Cloudflare a CA alone enforces nothing: say so where the CA is listed.
                item = format_html(
                    '{} <span class="not-enforced-host" title="No enabled access policy: '
                    'requests to this hostname pass unchecked. Add one under Access Policies.">'
                    "(not enforced: no policy)</span>",
                    item,
                )
            items.append(item)
        return format_html_join(mark_safe("<br>"), "{}", ((i,) for i in items))

    @admin.display(description="Subject")
    def subject(self, obj: MtlsCertificate) -> SafeString | str:
        root = obj.root
        if root is None:
            return "—"
        # Shortened to one line by the stylesheet; the whole subject shows on hover.
        return format_html(
            '<span class="cell-short" title="{}">{}</span>', root.subject, root.subject
        )

    @admin.display(description="Expires", ordering="expires_at")
    def expiry(self, obj: MtlsCertificate) -> SafeString | str:
        return expiry_flag(obj.not_after, timezone.now())

    @admin.display(description="SHA-256 fingerprint")
    def fingerprint(self, obj: MtlsCertificate) -> SafeString | str:
        root = obj.root
        if root is None:
            return "—"
        return format_html(
            '<code title="{}">{}</code>',
            root.fingerprint_sha256,
            short_fingerprint(root.fingerprint_sha256),
        )

    # --- detail page --------------------------------------------------------------------------

    @admin.display(description="Shared hostnames")
    def hostname_sharing(self, obj: MtlsCertificate) -> SafeString | str:
        owners = hostname_owners(obj.hostname_list())
        shared = [
            (hostname, ", ".join(name for pk, name in bundles if pk != obj.pk))
            for hostname, bundles in sorted(owners.items())
            if len(bundles) > 1
        ]
        if not shared:
            return "No other certificate is bound to these hostnames."
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308  a constant
            '{} <span class="shared-hostname">(shared with: {})</span>',
            shared,
        )

    @admin.display(description="Enforced")
    def enforcement(self, obj: MtlsCertificate) -> SafeString:
        """Per hostname, whether an enabled access policy guards it (a CA alone does not)."""
        guarded = guarded_hostnames()
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308  a constant
            "{} {}",
            (
                (
                    hostname,
                    "— enforced by its access policies" if hostname in guarded else NOT_ENFORCED,
                )
                for hostname in obj.hostname_list()
            ),
        )

    @admin.display(description="Chain")
    def chain(self, obj: MtlsCertificate) -> SafeString:
        """Every certificate of the bundle with its parsed facts, in upload order."""
        now = timezone.now()
        rows = format_html_join(
            "",
            "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>"
            '<td><code class="fingerprint">{}</code></td><td>{}</td><td>{} ({})</td>'
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    cert.position,
                    "Root" if cert.is_root else "Intermediate",
                    cert.subject,
                    cert.issuer,
                    cert.serial_number,
                    cert.fingerprint_sha256,
                    _date(cert.not_before),
                    _date(cert.not_after),
                    _days_left(cert.not_after, now),
                    # "ECDSA P-256" says its size; RSA needs the bits.
                    f"RSA {cert.key_size} bits" if cert.key_type == "RSA" else cert.key_type,
                    cert.signature_algorithm,
                )
                for cert in obj.certificates.all()
            ),
        )
        return format_html(
            '<table class="trust-chain"><thead><tr><th>#</th><th>Role</th><th>Subject</th>'
            "<th>Issuer</th><th>Serial</th><th>SHA-256 fingerprint</th><th>Valid from</th>"
            "<th>Valid until</th><th>Key</th><th>Signature</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="PEM")
    def bundle_text(self, obj: MtlsCertificate) -> SafeString:
        return format_html('<pre class="trust-pem">{}</pre>', obj.pem)

    @admin.display(description="Created")
    def created(self, obj: MtlsCertificate) -> str:
        return _who_when(obj.created_at, obj.created_by)

    @admin.display(description="Last changed")
    def updated(self, obj: MtlsCertificate) -> str:
        return _who_when(obj.updated_at, obj.updated_by)


def expiry_flag(expiry: dt.datetime | None, now: dt.datetime) -> SafeString | str:
    """The list's expiry cell: the date, and a flag (expired, 14 days, 30 days, fine) with the
    days left. The client certificates seen in traffic show theirs the same way."""
    if expiry is None:
        return "—"
    state = expiry_state_at(expiry, now)
    if state == ExpiryState.EXPIRED:
        ago = (now - expiry).days
        left = f"expired {ago} day{'s' if ago != 1 else ''} ago" if ago else "expired today"
    else:
        days = (expiry - now).days
        left = f"{days} day{'s' if days != 1 else ''} left"
    # The date and the flag may go on two lines when the list is narrow.
    return format_html(
        '<span class="expiry-date">{}</span> <span class="expiry-{}" title="{}">{}</span>',
        _date(expiry),
        state.value,
        state.label,
        left,
    )


def _days_left(expiry: dt.datetime, now: dt.datetime) -> str:
    days = (expiry - now).days
    return "expired" if expiry <= now else f"{days} day{'s' if days != 1 else ''} left"


def _who_when(when: dt.datetime | None, user: Any) -> str:
    if when is None:
        return "—"
    # No user: the `certificates` command, or an account deleted since.
    return f"{_date(when)} by {user.get_username()}" if user is not None else _date(when)
