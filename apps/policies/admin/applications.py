"""Access Policies → Applications: each application's domains, session duration, AUD tag, the
CAs that guard it, and its policies in order (reordered on its page); Revoke tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Prefetch, Q, QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst

from apps.policies.admin.guarded import GuardedChangesAdmin, unguarded_confirmed
from apps.policies.forms import ApplicationForm, DomainFormSet, PolicyLinkFormSet
from apps.policies.models import AccessPolicy, Application, ApplicationDomain, ApplicationPolicy
from apps.policies.services import (
    application_delete,
    application_revoke_tokens,
    application_set_policies,
)
from apps.trust.models import hostname_owners

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.forms import ModelForm

    _DomainInlineBase = admin.TabularInline[ApplicationDomain, Application]
    _LinkInlineBase = admin.TabularInline[ApplicationPolicy, Application]
    _ApplicationAdminBase = admin.ModelAdmin[Application]
else:
    _DomainInlineBase = _LinkInlineBase = admin.TabularInline
    _ApplicationAdminBase = admin.ModelAdmin

REVOKE_PERMISSION = "policies.change_application"
# A constant, not format_html() without arguments (deprecated: a TypeError from Django 6.0).
NOT_ENFORCED = mark_safe(  # noqa: S308  a constant
    '<span class="not-enforced-host" title="No enabled policy: requests to this application '
    'pass unchecked.">no enabled policy: not enforced</span>'
)


def _may(request: HttpRequest, action: str) -> bool:
    """Whether the operator may ``action`` ("view", "add", "change") applications."""
    return request.user.has_perm(
        f"{Application._meta.app_label}.{get_permission_codename(action, Application._meta)}"
    )


class PartOfTheApplication:
    """An inline whose rows are parts of the application, edited on its page only (as its
    domains and its policy links are): the application's permissions cover them.

    Whoever may add an application (on the add page) or change it (on its page) may edit its
    rows; whoever may view it sees them. The rows' own permissions ("Can add domain", …) are
    not asked for: granted apart from the application's, they let an operator save an
    application with no domain (the Domains inline left out), or answered 500 when one
    whose policies were shown read-only was saved.

    ``obj`` is the application (None on the add page); typed as any model because
    django-stubs types these methods with the inline's own model in one base class and the
    parent's in the other.
    """

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _may(request, "view") or self.has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_change_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Without an application (the add page, or the inline's queryset) adding one counts.
        return _may(request, "change") or (obj is None and _may(request, "add"))

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_change_permission(request, obj)


class DomainsOnceFormSet(DomainFormSet):
    """The Domains rows, each domain once as it is stored.

    Django's duplicate check compares the rows as typed, so ``APP.example.com`` beside
    ``app.example.com``, or ``/api`` beside ``/api/``, passed it and reached the database's
    unique constraint (a 500). By now each row's instance holds its normalized hostname and
    path (``ApplicationDomain.clean``): those are compared.
    """

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return  # a row's own errors first
        seen: set[tuple[str, str]] = set()
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            domain = form.instance
            if (domain.hostname, domain.path_prefix) in seen:
                form.add_error("hostname", f"{domain} is already in this list.")
            seen.add((domain.hostname, domain.path_prefix))


class DomainInline(PartOfTheApplication, _DomainInlineBase):
    """The hostnames (and optional paths) the application covers."""

    model = ApplicationDomain
    formset = DomainsOnceFormSet
    fields = ["hostname", "path_prefix"]
    extra = 0
    min_num = 1
    verbose_name_plural = "Domains (a hostname, optionally a path: the most specific wins)"


class PolicyLinkInline(PartOfTheApplication, _LinkInlineBase):
    """The application's policies with their precedence: change the numbers to reorder."""

    model = ApplicationPolicy
    formset = PolicyLinkFormSet
    fields = ["policy", "precedence"]
    extra = 0
    verbose_name_plural = (
        "Policies, by precedence (lower first; Bypass and Non Identity before Allow and Block)"
    )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """Only reusable policies, and the application's own, can be picked."""
        if db_field.name == "policy":
            match = request.resolver_match
            own = match.kwargs.get("object_id") if match is not None else None
            kwargs["queryset"] = AccessPolicy.objects.filter(
                Q(reusable=True) | Q(links__application_id=own)
            ).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Application)
class ApplicationAdmin(GuardedChangesAdmin, _ApplicationAdminBase):
    """Self-hosted applications: where policies apply, and what origins validate."""

    form = ApplicationForm
    inlines = [DomainInline, PolicyLinkInline]
    list_display = [
        "name",
        "domains_list",
        "policies_list",
        "session_duration",
        "certificates",
        "aud_short",
        "enabled",
    ]
    list_display_links = ["name"]
    list_filter = ["enabled"]
    search_fields = ["name", "domains__hostname", "aud"]
    search_help_text = "Name, hostname or AUD tag."
    readonly_fields = [
        "aud",
        "certificates",
        "tokens_revoked",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    ]
    fieldsets = [
        (None, {"fields": ["name", "session_duration", "enabled"]}),
        (
            "Origins",
            {
                "fields": ["aud", "certificates", "tokens_revoked"],
                "description": "Origins validate the Cf-Access-Jwt-Assertion token's aud "
                "against the AUD tag, with the keys at /cdn-cgi/access/certs.",
            },
        ),
        (
            "History",
            {
                "classes": ["collapse"],
                "fields": ["created_at", "created_by", "updated_at", "updated_by"],
            },
        ),
    ]
    change_form_template = "admin/policies/application/change_form.html"

    def get_fieldsets(self, request: HttpRequest, obj: Application | None = None) -> Any:
        """A new application has no AUD tag, CA list or history to show yet."""
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is not None else fieldsets[:1]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Application]:
        links = ApplicationPolicy.objects.select_related("policy").order_by("precedence")
        return (
            super()
            .get_queryset(request)
            .prefetch_related("domains", Prefetch("policy_links", queryset=links))
        )

    # --- list columns and read-only fields ----------------------------------------------------

    @admin.display(description="Domains")
    def domains_list(self, obj: Application) -> SafeString:
        return format_html_join(mark_safe("<br>"), "{}", ((d,) for d in obj.domain_list()))

    @admin.display(description="Policies, in order")
    def policies_list(self, obj: Application) -> SafeString:
        links = list(obj.policy_links.all())
        if not any(link.policy.enabled for link in links):
            # As a hostname without a policy: requests pass through unchecked.
            return NOT_ENFORCED
        return format_html_join(
            mark_safe("<br>"),
            "{}. {}{}",
            (
                (link.precedence, link.policy.name, "" if link.policy.enabled else " (disabled)")
                for link in links
            ),
        )

    @admin.display(description="Session duration", ordering="session_seconds")
    def session_duration(self, obj: Application) -> str:
        return obj.session_label()

    @admin.display(description="AUD tag")
    def aud_short(self, obj: Application) -> SafeString:
        return format_html('<code class="aud" title="{}">{}…</code>', obj.aud, obj.aud[:12])

    @admin.display(description="Certificates (Mutual TLS)")
    def certificates(self, obj: Application) -> SafeString:
        """Per hostname of the application, the uploaded CAs that guard it."""
        owners = hostname_owners(obj.hostname_list())
        rows = []
        for hostname in obj.hostname_list():
            cas = owners.get(hostname, [])
            if not cas:
                rows.append(
                    format_html(
                        '{}: <span class="without-ca-host" title="No CA is bound to this '
                        'hostname: no certificate rule can pass here.">no CA bound</span>',
                        hostname,
                    )
                )
                continue
            links = format_html_join(
                ", ",
                '<a href="{}">{}</a>',
                (
                    (reverse("admin:trust_mtlscertificate_change", args=[pk]), name)
                    for pk, name in cas
                ),
            )
            rows.append(format_html("{}: {}", hostname, links))
        return format_html_join(mark_safe("<br>"), "{}", ((row,) for row in rows))

    @admin.display(description="Tokens revoked")
    def tokens_revoked(self, obj: Application) -> str:
        if obj.tokens_revoked_at is None:
            return "never"
        when = timezone.localtime(obj.tokens_revoked_at).strftime("%Y-%m-%d %H:%M")
        return f"{when} (every session issued before then has ended)"

    # --- writes -------------------------------------------------------------------------------

    def save_model(
        self, request: HttpRequest, obj: Application, form: ModelForm[Application], change: bool
    ) -> None:
        operator = cast("User", request.user)
        if not change:
            obj.created_by = operator
        obj.updated_by = operator
        super().save_model(request, obj, form, change)

    def save_formset(
        self,
        request: HttpRequest,
        form: Any,
        formset: BaseInlineFormSet[Any, Any, Any],
        change: bool,
    ) -> None:
        """Policies are saved in one step by the service, so that swapping two precedences
        cannot trip over "unique within the application"; domains as the admin saves them."""
        if isinstance(formset, PolicyLinkFormSet):
            # Writes nothing: fills new_objects, changed_objects and deleted_objects, which the
            # history entry reads ("Changed Precedence for …"), before the service writes.
            formset.save(commit=False)
            application_set_policies(
                application=formset.instance,
                links=formset.kept_links(),
                user=cast("User", request.user),
                # The whole save (the form, domains and policies) is checked in save_related.
                allow_unguarded=True,
            )
            return
        super().save_formset(request, form, formset, change)

    def delete_model(self, request: HttpRequest, obj: Application) -> None:
        application_delete(
            application=obj,
            user=cast("User", request.user),
            allow_unguarded=unguarded_confirmed(request),
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Application]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def get_deleted_objects(
        self, objs: Sequence[Application] | QuerySet[Application], request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        """The confirmation lists the application's own policies too: application_delete
        removes them with it, but no foreign key cascades to them, so Django's list (domains
        and policy links) left them out. Reusable policies stay, only their links go."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        own = AccessPolicy.objects.filter(
            reusable=False, links__application__in=[obj.pk for obj in objs]
        ).distinct()
        opts = AccessPolicy._meta
        for policy in own:
            url = reverse("admin:policies_accesspolicy_change", args=[policy.pk])
            deleted.append(
                format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, policy)
            )
        if own:
            counts[str(opts.verbose_name_plural)] = len(own)
        return deleted, counts, perms_needed, protected

    # --- Revoke tokens ------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        revoke = path(
            "<path:object_id>/revoke-tokens/",
            self.admin_site.admin_view(self.revoke_tokens_view),
            name="policies_application_revoke_tokens",
        )
        return [revoke, *super().get_urls()]

    def revoke_tokens_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: what Revoke tokens does, and a button. POST: every session of the application
        ends (within a second on every node); the others are untouched."""
        if not request.user.has_perm(REVOKE_PERMISSION):
            raise PermissionDenied
        application = get_object_or_404(Application, pk=object_id)
        if request.method == "POST":
            application_revoke_tokens(application=application, user=cast("User", request.user))
            self.log_change(request, application, "Revoked every token of the application.")
            self.message_user(
                request,
                f"Every session of {application.name} has ended; clients sign in again.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(
                reverse("admin:policies_application_change", args=[application.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "application": application,
            "title": f"Revoke the tokens of {application.name}",
        }
        return TemplateResponse(request, "admin/policies/application/revoke_tokens.html", context)
