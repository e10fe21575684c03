"""The Access Policies section of the dashboard, with the policy tester page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from apps.policies.forms import AccessPolicyForm, RuleFormSet
from apps.policies.models import (
    AccessPolicy,
    PolicyRule,
    hostnames_without_ca,
    unenforced_hostnames,
)
from apps.policies.views import TESTER_PERMISSION, policy_tester


class PolicyRuleInline(admin.TabularInline):
    """Rules edited on the policy page, one row each."""

    model = PolicyRule
    formset = RuleFormSet
    fields = ["group", "type", "value"]
    extra = 0
    min_num = 1
    verbose_name_plural = "Rules (Include: any matches · Require: all match · Exclude: none)"


@admin.register(AccessPolicy)
class AccessPolicyAdmin(admin.ModelAdmin):
    """Policies per hostname; the listing reads like the rules it enforces."""

    form = AccessPolicyForm
    inlines = [PolicyRuleInline]
    list_display = [
        "name",
        "target",
        "decision",
        "order",
        "rules_summary",
        "session_duration",
        "enabled",
    ]
    list_display_links = ["name"]
    list_filter = ["decision", "enabled", "hostname"]
    search_fields = ["name", "hostname", "rules__value"]
    ordering = ["hostname", "order", "id"]
    readonly_fields = ["created_at", "created_by", "updated_at", "updated_by"]
    fieldsets = [
        (None, {"fields": ["name", "hostname", "path_prefix", "decision", "order"]}),
        ("Session", {"fields": ["session_duration", "enabled"]}),
        (
            "History",
            {
                "classes": ["collapse"],
                "fields": ["created_at", "created_by", "updated_at", "updated_by"],
            },
        ),
    ]
    change_list_template = "admin/policies/accesspolicy/change_list.html"

    def get_fieldsets(self, request: HttpRequest, obj: AccessPolicy | None = None) -> Any:
        """A new policy has no history yet: its add page leaves the empty section out."""
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is not None else [f for f in fieldsets if f[0] != "History"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessPolicy]:
        return super().get_queryset(request).prefetch_related("rules")

    @admin.display(description="Hostname / path", ordering="hostname")
    def target(self, obj: AccessPolicy) -> str:
        return obj.hostname if obj.path_prefix in ("", "/") else obj.hostname + obj.path_prefix

    @admin.display(description="Rules")
    def rules_summary(self, obj: AccessPolicy) -> str:
        return format_html_join(mark_safe("<br>"), "{}", ((r,) for r in obj.rules_in_words()))

    def save_model(self, request: HttpRequest, obj: AccessPolicy, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self) -> list[URLPattern]:
        tester = path(
            "tester/",
            self.admin_site.admin_view(self.tester_view),
            name="policies_accesspolicy_tester",
        )
        return [tester, *super().get_urls()]

    def tester_view(self, request: HttpRequest) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "opts": self.model._meta}
        return policy_tester(request, context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {
            **(extra_context or {}),
            "not_enforced": unenforced_hostnames(),
            "without_ca": hostnames_without_ca(),
            "can_test": request.user.has_perm(TESTER_PERMISSION),
            "tester_url": reverse("admin:policies_accesspolicy_tester"),
        }
        return super().changelist_view(request, extra_context=extra)
