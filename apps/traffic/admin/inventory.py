"""Traffic → Client certificates: every distinct verified leaf seen in traffic.

Read only (the recorder fills it): subject, names, issuer and the uploaded CA it chained to,
serial, fingerprint, first and last seen, requests, hostnames reached and expiry, flagged at 30
and 14 days as the CAs are. Each row links to its requests in the access log and to
**Revoke**, the revocation page (``apps.revocation``) filled in with its fingerprint, when that
page exists.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from apps.traffic.models import ClientCertificate, ClientCertificateHostname
from apps.trust.admin import ExpiryFilter, expiry_flag

if TYPE_CHECKING:
    _InventoryAdminBase = admin.ModelAdmin[ClientCertificate]
    _HostnamesInlineBase = admin.TabularInline[ClientCertificateHostname, ClientCertificate]
else:
    _InventoryAdminBase = admin.ModelAdmin
    _HostnamesInlineBase = admin.TabularInline

# The revocation page (revoke by SHA-256 fingerprint) the Revoke links open, pre-filled by
# Django's admin from the query string (?kind=fingerprint&value=…). Until an app provides a
# URL by this name, the column says that revocation is not available.
REVOKE_URL_NAME = "admin:revocation_revocation_add"
SEEN_PERIODS = {
    "24h": ("Last 24 hours", dt.timedelta(hours=24)),
    "7d": ("Last 7 days", dt.timedelta(days=7)),
    "30d": ("Last 30 days", dt.timedelta(days=30)),
}


def revoke_url(certificate: ClientCertificate) -> str | None:
    """The revocation page for this leaf's fingerprint, or None when there is none."""
    try:
        base = reverse(REVOKE_URL_NAME)
    except NoReverseMatch:
        return None
    query = {
        "kind": "fingerprint",
        "value": certificate.fingerprint_sha256,
        "reason": f"Revoked from the inventory: {certificate}"[:200],
    }
    return f"{base}?{urlencode(query)}"


class LastSeenFilter(admin.SimpleListFilter):
    """Leaves presented in the last day, week or month."""

    title = "last seen"
    parameter_name = "seen"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in SEEN_PERIODS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        period = SEEN_PERIODS.get(self.value() or "")
        return queryset.filter(last_seen__gte=timezone.now() - period[1]) if period else queryset


class HostnameReachedFilter(admin.SimpleListFilter):
    """Leaves that reached one hostname."""

    title = "hostname reached"
    parameter_name = "hostname"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        hostnames = ClientCertificateHostname.objects.order_by("hostname").values_list(
            "hostname", flat=True
        )
        return [(h, h) for h in hostnames.distinct()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(hostnames__hostname=value) if value else queryset


class HostnamesReached(_HostnamesInlineBase):
    """The hostnames one leaf reached, with how often and when."""

    model = ClientCertificateHostname
    fields = readonly_fields = ("hostname", "request_count", "first_seen", "last_seen")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _when(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


@admin.register(ClientCertificate)
class ClientCertificateAdmin(_InventoryAdminBase):
    """Traffic → Client certificates (view only, and Revoke)."""

    list_display = [
        "name",
        "ca_name",
        "fingerprint_short",
        "last",
        "request_count",
        "hostnames_reached",
        "expiry",
        "revoke",
    ]
    list_display_links = ["name"]
    empty_value_display = "—"
    actions = None  # nothing to do to several at once; Revoke is per certificate
    list_filter = [
        LastSeenFilter,
        ExpiryFilter,
        ("ca", admin.RelatedOnlyFieldListFilter),
        HostnameReachedFilter,
    ]
    search_fields = [
        "common_name",
        "subject",
        "=fingerprint_sha256",
        "=serial",
        "issuer",
        "san_dns",
        "san_emails",
        "san_uris",
    ]
    search_help_text = "CN, subject, SAN, issuer, serial or SHA-256 fingerprint (hex, no colons)."
    fields = readonly_fields = (
        "subject",
        "common_name",
        "sans",
        "issuer",
        "ca",
        "serial",
        "fingerprint_sha256",
        "not_before",
        "expiry",
        "first_seen",
        "last_seen",
        "request_count",
        "requests",
        "revoke",
    )
    inlines = [HostnamesReached]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ClientCertificate]:
        return super().get_queryset(request).select_related("ca").prefetch_related("hostnames")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ClientCertificate], search_term: str
    ) -> tuple[QuerySet[ClientCertificate], bool]:
        # A fingerprint or serial as an operator copies it: colons and upper case allowed.
        term = search_term.strip()
        if ":" in term and all(c in "0123456789abcdefABCDEF:" for c in term):
            term = term.replace(":", "").lower()
        return super().get_search_results(request, queryset, term)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Certificate", ordering="common_name")
    def name(self, obj: ClientCertificate) -> SafeString:
        return format_html(
            '<span class="cell-short" title="{}">{}</span>',
            obj.subject,
            obj.common_name or obj.subject,
        )

    @admin.display(description="Uploaded CA", ordering="ca__name")
    def ca_name(self, obj: ClientCertificate) -> SafeString | str:
        if obj.ca is None:
            return format_html(
                '<span class="cell-short" title="{}">{}</span>', obj.issuer, obj.issuer
            )
        return format_html('<span title="issuer {}">{}</span>', obj.issuer, obj.ca.name)

    @admin.display(description="SHA-256")
    def fingerprint_short(self, obj: ClientCertificate) -> SafeString:
        fp = obj.fingerprint_sha256
        return format_html('<code class="fingerprint" title="{}">{}…</code>', fp, fp[:12])

    @admin.display(description="Last seen", ordering="last_seen")
    def last(self, obj: ClientCertificate) -> str:
        return _when(obj.last_seen)

    @admin.display(description="Hostnames reached")
    def hostnames_reached(self, obj: ClientCertificate) -> SafeString:
        return format_html_join(
            ", ", "<span>{}</span>", ((h.hostname,) for h in obj.hostnames.all())
        )

    @admin.display(description="Expires", ordering="not_after")
    def expiry(self, obj: ClientCertificate) -> SafeString | str:
        return expiry_flag(obj.not_after, timezone.now())

    @admin.display(description="Names (SAN)")
    def sans(self, obj: ClientCertificate) -> str:
        names = [*obj.san_dns, *obj.san_emails, *obj.san_uris]
        return ", ".join(names) or "—"

    @admin.display(description="Access log")
    def requests(self, obj: ClientCertificate) -> SafeString:
        url = reverse("admin:traffic_accesslogentry_changelist")
        return format_html(
            '<a href="{}?{}">Requests with this certificate</a>',
            url,
            urlencode({"cert_fingerprint": obj.fingerprint_sha256}),
        )

    @admin.display(description="Revoke")
    def revoke(self, obj: ClientCertificate) -> SafeString:
        url = revoke_url(obj)
        if url is None:
            return format_html(
                '<span class="revoke-unavailable" title="{}">not available</span>',
                "Revocation is not installed in this version.",
            )
        return format_html('<a class="revoke-link" href="{}">Revoke</a>', url)
