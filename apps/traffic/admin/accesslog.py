"""Traffic → Access log: every access decision, filtered by hostname, decision, reason,
certificate and time, and exported as CSV or JSON with the filters applied.

Read only: rows come from the recorder (``apps.traffic.writer``) and leave by pruning.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from apps.base.conf import access_settings
from apps.traffic.export import COLUMNS, CONTENT_TYPES, export
from apps.traffic.models import AccessLogEntry

if TYPE_CHECKING:
    _AccessLogAdminBase = admin.ModelAdmin[AccessLogEntry]
else:
    _AccessLogAdminBase = admin.ModelAdmin

PERIODS = {
    "15m": ("Last 15 minutes", dt.timedelta(minutes=15)),
    "1h": ("Last hour", dt.timedelta(hours=1)),
    "24h": ("Last 24 hours", dt.timedelta(hours=24)),
    "7d": ("Last 7 days", dt.timedelta(days=7)),
}


class PeriodFilter(admin.SimpleListFilter):
    """Decisions of the last 15 minutes, hour, day or week."""

    title = "time"
    parameter_name = "period"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in PERIODS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        period = PERIODS.get(self.value() or "")
        return queryset.filter(time__gte=timezone.now() - period[1]) if period else queryset


class CertificateFilter(admin.SimpleListFilter):
    """With a verified certificate, with an unverified one, or without any; a link from the
    inventory adds ``cert_fingerprint=<sha256>`` for one certificate."""

    title = "certificate"
    parameter_name = "certificate"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("verified", "Verified certificate"),
            ("unverified", "Presented, not verified"),
            ("none", "No certificate"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "verified":
            return queryset.filter(cert_verified=True)
        if value == "unverified":
            return queryset.filter(cert_verified=False).exclude(cert_fingerprint="")
        if value == "none":
            return queryset.filter(cert_fingerprint="")
        return queryset


@admin.register(AccessLogEntry)
class AccessLogAdmin(_AccessLogAdminBase):
    """Traffic → Access log (view only)."""

    list_display = [
        "when",
        "hostname",
        "request",
        "decision_flag",
        "reason",
        "policy_name",
        "certificate",
        "client_ip",
    ]
    list_display_links = ["when"]
    list_filter = [
        PeriodFilter,
        ("hostname", admin.AllValuesFieldListFilter),
        "decision",
        ("reason", admin.AllValuesFieldListFilter),
        CertificateFilter,
    ]
    date_hierarchy = "time"
    search_fields = [
        "=cert_fingerprint",
        "cert_common_name",
        "=request_id",
        "=client_ip",
        "path",
    ]
    search_help_text = "Certificate CN or SHA-256 fingerprint, request id, client IP, or path."
    list_per_page = 100
    empty_value_display = "—"
    show_full_result_count = False  # no COUNT(*) over a month of decisions on every page
    # The detail page shows every exported column, read only.
    fields = COLUMNS
    readonly_fields = COLUMNS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the log leaves by retention only (accessctl accesslog prune)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The inventory links here with ?cert_fingerprint=<sha256>: one certificate's requests.
        return lookup == "cert_fingerprint" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="Time", ordering="time")
    def when(self, obj: AccessLogEntry) -> str:
        return timezone.localtime(obj.time).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="Request", ordering="path")
    def request(self, obj: AccessLogEntry) -> SafeString:
        return format_html(
            '<span class="cell-short" title="{} {}">{} {}</span>',
            obj.method,
            obj.path,
            obj.method,
            obj.path,
        )

    @admin.display(description="Decision", ordering="decision")
    def decision_flag(self, obj: AccessLogEntry) -> SafeString:
        return format_html(
            '<span class="decision-flag decision-{}">{}</span>', obj.decision, obj.decision
        )

    @admin.display(description="Certificate", ordering="cert_common_name")
    def certificate(self, obj: AccessLogEntry) -> SafeString | str:
        if not obj.cert_fingerprint:
            return "—"
        label = obj.cert_common_name or obj.cert_fingerprint[:16]
        state = "" if obj.cert_verified else " (not verified)"
        return format_html(
            '<span class="cell-short" title="SHA-256 {}">{}{}</span>',
            obj.cert_fingerprint,
            label,
            state,
        )

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        export_view = self.admin_site.admin_view(self.export_view)
        return [
            path(
                "export.<str:fmt>",
                export_view,
                name=f"{opts.app_label}_{opts.model_name}_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest, fmt: str) -> StreamingHttpResponse:
        """The list as it is filtered, every page of it, as CSV or JSON."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if fmt not in CONTENT_TYPES:
            raise Http404("export as csv or json")
        entries = self.get_changelist_instance(request).get_queryset(request)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(export(entries, fmt), content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.{fmt}"'
        return response

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        """The list, with export links that keep its filters."""
        opts = self.model._meta
        query = request.GET.urlencode()
        base = f"admin:{opts.app_label}_{opts.model_name}_export"
        exports = {
            fmt: reverse(base, args=[fmt]) + (f"?{query}" if query else "") for fmt in CONTENT_TYPES
        }
        context = {
            **(extra_context or {}),
            "exports": exports,
            "retention_days": access_settings().access_log_retention.days,
        }
        return super().changelist_view(request, context)
