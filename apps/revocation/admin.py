"""Revocation in the dashboard: the CRL pages and the Revoked certificates page.

A CRL is added from the Mutual TLS certificate's page (its Revocation panel links here with
the certificate chosen) as a file, pasted PEM or a URL; the list shows each CA's CRL with its
next update, whether it is stale and what happens then, and the last refresh error. Revoked
certificates are listed with who revoked them, when and why; a revocation is lifted with the
list's action, never deleted. Every write goes through ``apps.revocation.services``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from apps.base.admin import RaceAsMessage
from apps.revocation.choices import WhenStale
from apps.revocation.forms import CrlAddForm, CrlChangeForm, RevocationForm
from apps.revocation.models import CertificateRevocationList, Revocation
from apps.revocation.services import (
    crl_delete,
    crl_refresh,
    crl_store,
    revocation_create,
    revocation_lift,
)

if TYPE_CHECKING:
    _CrlAdminBase = admin.ModelAdmin[CertificateRevocationList]
    _RevocationAdminBase = admin.ModelAdmin[Revocation]
else:
    _CrlAdminBase = admin.ModelAdmin
    _RevocationAdminBase = admin.ModelAdmin


def _date(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


def _who_when(when: dt.datetime | None, user: Any) -> str:
    if when is None:
        return "—"
    return f"{_date(when)} by {user.get_username() if user is not None else 'the command line'}"


STALE_ACCEPTED = mark_safe(  # noqa: S308  a constant
    '<span class="crl-stale-accepted" title="Past its next update and not refreshed: its '
    'clients are accepted without a current revocation check.">stale: clients accepted '
    "(warning)</span>"
)
STALE_REFUSED = mark_safe(  # noqa: S308  a constant
    '<span class="crl-stale-refused" title="Past its next update and not refreshed: its '
    'clients are refused until a fresh CRL is stored.">stale: clients refused</span>'
)


def crl_state(crl: CertificateRevocationList, now: dt.datetime | None = None) -> SafeString:
    """ "current", or the stale warning with what happens to the CA's clients."""
    if not crl.is_stale(now):
        return mark_safe('<span class="crl-current">current</span>')  # noqa: S308  a constant
    if crl.when_stale == WhenStale.ACCEPT:
        return STALE_ACCEPTED
    return STALE_REFUSED


@admin.register(CertificateRevocationList)
class CertificateRevocationListAdmin(RaceAsMessage, _CrlAdminBase):
    """Revocation → Revocation lists (CRLs): the current CRL of each CA certificate."""

    form = CrlChangeForm
    add_form = CrlAddForm
    list_display = [
        "ca_subject",
        "bundle_name",
        "this_update",
        "next_update",
        "state",
        "revoked_count",
        "when_stale",
        "refresh",
    ]
    list_filter = ["when_stale"]
    search_fields = ["ca__subject", "ca__bundle__name", "url"]
    # The change page: what the CRL says, where it is refreshed from, and who stored it.
    change_fieldsets = [
        (
            None,
            {
                "fields": [
                    "ca_subject",
                    "bundle_name",
                    "this_update",
                    "next_update",
                    "state",
                    "crl_number",
                    "revoked_count",
                ]
            },
        ),
        ("Refresh", {"fields": ["url", "fetched_at", "last_error", "when_stale"]}),
        ("History", {"fields": ["history"]}),
    ]
    # Everything shown there but the two choices the change form edits.
    readonly_fields = [
        name
        for _, options in change_fieldsets
        for name in options["fields"]
        if name not in CrlChangeForm.Meta.fields
    ]
    actions = ["refresh_now"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CertificateRevocationList]:
        return (
            super()
            .get_queryset(request)
            .defer("der")
            .select_related("ca__bundle", "created_by", "updated_by")
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [
                (None, {"fields": ["bundle", "crl_file", "crl_text", "url", "when_stale"]}),
            ]
        return self.change_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[CertificateRevocationList]]:
        if obj is None:
            kwargs["form"] = self.add_form
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        if "bundle" in request.GET:
            initial["bundle"] = request.GET["bundle"]
        return initial

    def save_model(
        self, request: HttpRequest, obj: CertificateRevocationList, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            obj.updated_by = request.user  # type: ignore[assignment]
            obj.save()
            return
        stored = crl_store(
            bundle=data["bundle"],
            data=data["crl_data"],
            user=request.user,
            # A file or a paste keeps the URL refreshes use; a fetch records where from.
            url=data.get("fetched_from"),
            when_stale=data["when_stale"],
        )
        obj.pk = stored.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: CertificateRevocationList) -> None:
        crl_delete(crl=obj, user=request.user)

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[CertificateRevocationList]
    ) -> None:
        for crl in queryset:
            crl_delete(crl=crl, user=request.user)

    @admin.action(description="Fetch the selected CRLs from their URLs now", permissions=["change"])
    def refresh_now(
        self, request: HttpRequest, queryset: QuerySet[CertificateRevocationList]
    ) -> None:
        results = crl_refresh(force=True, only=[crl.pk for crl in queryset])
        for result in results:
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(request, f"CRL of {result.crl.ca.subject}: {result.message}", level)
        if not results:
            self.message_user(request, "None of the selected CRLs has a URL.", messages.WARNING)

    @admin.display(description="CA", ordering="ca__subject")
    def ca_subject(self, obj: CertificateRevocationList) -> str:
        return obj.ca.subject

    @admin.display(description="mTLS Certificate", ordering="ca__bundle__name")
    def bundle_name(self, obj: CertificateRevocationList) -> str:
        return obj.ca.bundle.name

    @admin.display(description="State")
    def state(self, obj: CertificateRevocationList) -> SafeString:
        return crl_state(obj)

    @admin.display(description="Refreshed from")
    def refresh(self, obj: CertificateRevocationList) -> SafeString | str:
        if not obj.url:
            return "uploaded by hand"
        if obj.last_error:
            return format_html(
                '{}<br><span class="crl-refresh-error">last refresh failed: {}</span>',
                obj.url,
                obj.last_error,
            )
        return obj.url

    @admin.display(description="Stored")
    def history(self, obj: CertificateRevocationList) -> str:
        return (
            f"first {_who_when(obj.created_at, obj.created_by)}; "
            f"last {_who_when(obj.updated_at, obj.updated_by)}"
        )


class ActiveFilter(admin.SimpleListFilter):
    """Revocations in force (the default) or lifted."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "In force"), ("lifted", "Lifted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "active":
            return queryset.filter(lifted_at__isnull=True)
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        return queryset


@admin.register(Revocation)
class RevocationAdmin(RaceAsMessage, _RevocationAdminBase):
    """Revocation → Revoked certificates: revoked by serial or fingerprint, without a CRL."""

    form = RevocationForm
    list_display = ["value_display", "kind", "reason", "revoked", "state"]
    list_filter = [ActiveFilter, "kind"]
    search_fields = ["value", "reason"]
    search_help_text = "Serial number, fingerprint (colons allowed) or reason."
    actions = ["lift"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """Values are stored as lowercase hex: accept ``AB:CD:…`` too."""
        compact = search_term.strip().replace(":", "").lower()
        if compact and all(c in "0123456789abcdef" for c in compact):
            search_term = compact.lstrip("0") or "0"
        return super().get_search_results(request, queryset, search_term)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Revocation]:
        return super().get_queryset(request).select_related("created_by", "lifted_by")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else ["kind", "value", "reason", "revoked", "state"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["kind", "value", "reason"]
        return ["kind", "value", "reason", "revoked", "state"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # lifted, never deleted: the list is the history

    def save_model(self, request: HttpRequest, obj: Revocation, form: Any, change: bool) -> None:
        if change:
            return  # nothing on a revocation changes; it is lifted with the list's action
        data = form.cleaned_data
        created = revocation_create(
            kind=data["kind"], value=data["value"], reason=data["reason"], user=request.user
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    @admin.action(description="Lift the selected revocations", permissions=["change"])
    def lift(self, request: HttpRequest, queryset: QuerySet[Revocation]) -> None:
        lifted = 0
        for revocation in queryset.filter(lifted_at__isnull=True):
            revocation_lift(revocation=revocation, user=request.user)
            lifted += 1
        self.message_user(request, f"{lifted} revocation(s) lifted.", messages.SUCCESS)

    @admin.display(description="Serial number or fingerprint", ordering="value")
    def value_display(self, obj: Revocation) -> SafeString:
        return format_html("<code>{}</code>", obj.value)

    @admin.display(description="Revoked", ordering="created_at")
    def revoked(self, obj: Revocation) -> str:
        return _who_when(obj.created_at, obj.created_by)

    @admin.display(description="State")
    def state(self, obj: Revocation) -> str:
        if obj.lifted_at is None:
            return "in force"
        return f"lifted {_who_when(obj.lifted_at, obj.lifted_by)}"
