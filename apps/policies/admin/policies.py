"""Access Policies → Access policies: the seed's flow (Add access policy, with a hostname from
the certificate upload) and reusable policies.

The policy tester is linked from the listing; it runs the request path's own verification, so
it is served by the console, which sits above the gateway (``apps.console.tester``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

from apps.policies.admin.guarded import GuardedChangesAdmin, unguarded_confirmed
from apps.policies.forms import AccessPolicyForm, RuleFormSet
from apps.policies.hostnames import hostnames_without_ca, unenforced_hostnames
from apps.policies.models import (
    TESTER_PERMISSION,
    AccessPolicy,
    ApplicationPolicy,
    PolicyRule,
)
from apps.policies.services import policy_delete, policy_place, policy_set_precedence

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    # django-stubs makes these generic; Django's own classes cannot be subscripted at run time.
    _PolicyRuleInlineBase = admin.TabularInline[PolicyRule, AccessPolicy]
    _AccessPolicyAdminBase = admin.ModelAdmin[AccessPolicy]
else:
    _PolicyRuleInlineBase = admin.TabularInline
    _AccessPolicyAdminBase = admin.ModelAdmin

NOWHERE = mark_safe(  # noqa: S308  a constant
    '<span class="policy-unattached" title="A policy attached to no application enforces '
    "nothing: attach it on an application's page.\">attached to no application: enforces "
    "nothing</span>"
)


class PolicyRuleInline(_PolicyRuleInlineBase):
    """Rules edited on the policy page, one row each."""

    model = PolicyRule
    formset = RuleFormSet
    fields = ["group", "type", "value"]
    extra = 0
    min_num = 1
    verbose_name_plural = "Rules (Include: any matches · Require: all match · Exclude: none)"


@admin.register(AccessPolicy)
class AccessPolicyAdmin(GuardedChangesAdmin, _AccessPolicyAdminBase):
    """Policies, listed as the rules they enforce and the applications they are part of."""

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
    list_filter = ["decision", "enabled", "reusable", "links__application"]
    search_fields = ["name", "links__application__name", "links__application__domains__hostname"]
    ordering = ["name", "id"]
    readonly_fields = ["applications", "created_at", "created_by", "updated_at", "updated_by"]
    change_list_template = "admin/policies/accesspolicy/change_list.html"

    def get_fieldsets(self, request: HttpRequest, obj: AccessPolicy | None = None) -> Any:
        """Adding: a hostname (or Reusable) picks the policy's place. Editing: its places are
        shown, and a new policy's page has no (empty) History section."""
        main = ["name", "hostname", "reusable"] if obj is None else ["name", "applications"]
        if obj is None or (not obj.reusable and obj.links.exists()):
            main.append("order")
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [
            (None, {"fields": [*main, "path_prefix", "decision"]}),
            ("Session", {"fields": ["session_duration", "enabled"]}),
        ]
        if obj is not None:
            history = ["created_at", "created_by", "updated_at", "updated_by"]
            fieldsets.append(("History", {"classes": ["collapse"], "fields": history}))
        return fieldsets

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessPolicy]:
        links = ApplicationPolicy.objects.select_related("application").prefetch_related(
            "application__domains"
        )
        return (
            super()
            .get_queryset(request)
            .prefetch_related("rules", Prefetch("links", queryset=links))
        )

    # --- list columns and read-only fields ----------------------------------------------------

    @admin.display(description="Application / domains")
    def target(self, obj: AccessPolicy) -> SafeString:
        """Where the policy applies: its applications' domains, or that it applies nowhere."""
        links = list(obj.links.all())
        if not links:
            return NOWHERE
        return format_html_join(
            mark_safe("<br>"), "{}", ((place,) for link in links for place in link.places())
        )

    @admin.display(description="Order")
    def order(self, obj: AccessPolicy) -> str:
        return ", ".join(str(link.precedence) for link in obj.links.all()) or "—"

    @admin.display(description="Rules")
    def rules_summary(self, obj: AccessPolicy) -> str:
        return format_html_join(mark_safe("<br>"), "{}", ((r,) for r in obj.rules_in_words()))

    @admin.display(description="Session duration")
    def session_duration(self, obj: AccessPolicy) -> str:
        return obj.session_label()

    @admin.display(description="Applications")
    def applications(self, obj: AccessPolicy) -> SafeString:
        """The applications the policy is part of, each with its precedence there."""
        links = list(obj.links.select_related("application"))
        if not links:
            return NOWHERE
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308  a constant
            '<a href="{}">{}</a> — precedence {}',
            (
                (
                    reverse("admin:policies_application_change", args=[link.application.pk]),
                    link.application.name,
                    link.precedence,
                )
                for link in links
            ),
        )

    # --- writes -------------------------------------------------------------------------------

    def save_model(
        self, request: HttpRequest, obj: AccessPolicy, form: AccessPolicyForm, change: bool
    ) -> None:
        # The admin serves active staff only (AdminSite.has_permission), never AnonymousUser.
        operator = cast("User", request.user)
        if not change:
            obj.created_by = operator
            obj.reusable = bool(form.cleaned_data.get("reusable"))
        obj.updated_by = operator
        super().save_model(request, obj, form, change)
        order = form.cleaned_data.get("order")
        if not change and not obj.reusable:
            policy_place(
                policy=obj, hostname=form.cleaned_data["hostname"], precedence=order, user=operator
            )
        elif change and order is not None and not obj.reusable:
            policy_set_precedence(policy=obj, precedence=order)

    def delete_model(self, request: HttpRequest, obj: AccessPolicy) -> None:
        policy_delete(
            policy=obj,
            user=cast("User", request.user),
            allow_unguarded=unguarded_confirmed(request),
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AccessPolicy]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

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
