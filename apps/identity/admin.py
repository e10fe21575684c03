"""Settings → Login methods in the dashboard, and the login methods an application offers (a
table on the application's page).

A method's type is chosen when it is added (``?type=onetimepin`` on the add page; OpenID
Connect otherwise) and shown, not edited, afterwards: the page shows only the fields of that
type, so a one-time PIN method's page asks for a name alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import display_for_value
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.identity.models import OIDC_FIELDS, ApplicationLoginMethod, LoginMethod, LoginMethodType
from apps.identity.pins import CODE_DIGITS, CODE_SECONDS
from apps.identity.services import login_method_create, login_method_delete, login_method_update
from apps.policies.admin.applications import ApplicationAdmin, PartOfTheApplication

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    _LoginMethodAdminBase = admin.ModelAdmin[LoginMethod]
    _LoginMethodForm = forms.ModelForm[LoginMethod]
    _OfferedInlineBase = admin.TabularInline[ApplicationLoginMethod, Any]
else:
    _LoginMethodAdminBase = admin.ModelAdmin
    _LoginMethodForm = forms.ModelForm
    _OfferedInlineBase = admin.TabularInline

# What the form hands to the services (login_method_create / login_method_update).
WRITTEN_FIELDS = ("name", "enabled", *OIDC_FIELDS)
SECRET_KEPT = "Stored encrypted and never shown. Leave empty to keep the current secret."  # noqa: S105


def _https_by_default(db_field: Any, **kwargs: Any) -> Any:
    """Form fields of the model's fields, a URL typed without a scheme taken as https."""
    if isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class LoginMethodForm(_LoginMethodForm):
    """The login method page; the client secret is write-only. ``kind`` is the type of a new
    method (the admin makes a form class per type: :meth:`LoginMethodAdmin.get_form`)."""

    kind: str = LoginMethodType.OIDC

    client_secret = forms.CharField(
        required=False,
        strip=False,
        max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The client secret the provider gave this client. Stored encrypted; never "
        "shown again.",
    )

    class Meta:
        model = LoginMethod
        formfield_callback = _https_by_default
        fields = list(WRITTEN_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.instance.type = self.kind
        if self.instance.pk is not None and self.instance.has_client_secret:
            self.fields["client_secret"].help_text = SECRET_KEPT

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.is_one_time_pin:
            return cleaned
        if not cleaned.get("client_secret") and not self.instance.has_client_secret:
            self.add_error("client_secret", "A client secret is required.")
        return cleaned


@admin.register(LoginMethod)
class LoginMethodAdmin(_LoginMethodAdminBase):
    """Identity providers people log in with (OpenID Connect), and the one-time PIN."""

    form = LoginMethodForm
    list_display = ["name", "type", "issuer_url", "client_id", "pkce", "enabled"]
    list_filter = ["type", "enabled"]
    search_fields = ["name", "issuer_url", "client_id"]
    readonly_fields = ["id", "type"]
    pin_fieldsets = [
        (
            None,
            {
                "fields": ["id", "name", "type", "enabled"],
                "description": f"accessctl mails a {CODE_DIGITS}-digit code, valid "
                f"{CODE_SECONDS // 60} minutes, to an address some policy of the application "
                "could let in; the person types it on the login page. Mail goes out through "
                "EMAIL_URL (see docs/identity.md).",
            },
        )
    ]
    fieldsets = [
        (None, {"fields": ["id", "name", "type", "enabled"]}),
        (
            "OpenID Connect",
            {
                "fields": ["issuer_url", "client_id", "client_secret", "scopes", "pkce_enabled"],
                "description": "Register accessctl at the provider with the redirect URL "
                "https://&lt;ACCESSCTL_AUTH_HOSTNAME&gt;/cdn-cgi/access/callback.",
            },
        ),
        (
            "Explicit URLs (instead of discovery)",
            {"fields": ["auth_url", "token_url", "certs_url"], "classes": ["collapse"]},
        ),
        ("Claims", {"fields": ["email_claim_name", "groups_claim_name"]}),
    ]

    @admin.display(description="PKCE (S256)", ordering="pkce_enabled")
    def pkce(self, obj: LoginMethod) -> str:
        """The PKCE icon of an OpenID Connect method; nothing for a one-time PIN."""
        if obj.is_one_time_pin:
            return self.get_empty_value_display()
        return str(display_for_value(obj.pkce_enabled, "", boolean=True))

    @staticmethod
    def kind_of(request: HttpRequest, obj: LoginMethod | None) -> str:
        """The type of the method on this page: its own, or for a new one ``?type=``."""
        if obj is not None:
            return obj.type
        asked = request.GET.get("type", "")
        return asked if asked in LoginMethodType.values else LoginMethodType.OIDC

    def get_fieldsets(self, request: HttpRequest, obj: LoginMethod | None = None) -> Any:
        if self.kind_of(request, obj) == LoginMethodType.ONETIMEPIN:
            return self.pin_fieldsets
        if obj is None:
            first = {
                "fields": ["id", "name", "type", "enabled"],
                "description": 'For a one-time PIN by email instead, <a href="?type='
                'onetimepin">add a One-time PIN method</a>.',
            }
            return [(None, first), *self.fieldsets[1:]]
        return self.fieldsets

    def get_form(
        self,
        request: HttpRequest,
        obj: LoginMethod | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"kind": self.kind_of(request, obj)})

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, models.URLField):
            kwargs["assume_scheme"] = "https"  # a provider's URL typed without its scheme
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: LoginMethod, form: Any, change: bool) -> None:
        # The admin serves active staff only (AdminSite.has_permission), never AnonymousUser.
        operator = cast("User", request.user)
        # A one-time PIN method's page has no OpenID Connect fields: those keep their values.
        fields = {name: form.cleaned_data[name] for name in WRITTEN_FIELDS if name in form.fields}
        if change:
            kept = {name: getattr(obj, name) for name in WRITTEN_FIELDS if name not in fields}
            kept.pop("client_secret", None)
            login_method_update(method=obj, user=operator, **kept, **fields)
            return
        created = login_method_create(user=operator, type=form.kind, **fields)
        # The admin goes on with its own instance (LogEntry, redirect): make it the stored row.
        obj.pk = created.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: LoginMethod) -> None:
        login_method_delete(method=obj, user=cast("User", request.user))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[LoginMethod]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def get_deleted_objects(
        self, objs: Sequence[LoginMethod] | QuerySet[LoginMethod], request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        """A method in use is protected (login_method_delete refuses it): the confirmation
        page names what uses it instead of a Delete button."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for method in objs:
            protected.extend(f"{method.name}: in use by {use}" for use in method.uses())
        return deleted, counts, perms_needed, protected


class OfferedLoginMethodInline(PartOfTheApplication, _OfferedInlineBase):
    """The login methods the application offers on its login page; none: every enabled one."""

    model = ApplicationLoginMethod
    fields = ["login_method"]
    extra = 0
    verbose_name_plural = "Login methods (none chosen: every enabled login method)"


# The application's page belongs to apps.policies, below this layer: the table is added to it
# from here, so that the policies layer knows nothing of login methods.
ApplicationAdmin.inlines = [*ApplicationAdmin.inlines, OfferedLoginMethodInline]
