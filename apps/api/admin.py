"""API tokens in the dashboard (API → API tokens): add one (its secret is shown once, on the
page that follows), see when each was used, revoke. The account id is shown above the list.
Tokens are never deleted, so the history keeps naming the token behind each change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from apps.api.models import Account, ApiToken
from apps.api.tokens import api_token_create, api_token_revoke, token_field_errors

if TYPE_CHECKING:
    # django-stubs makes these generic; Django's own classes cannot be subscripted at run time.
    _ApiTokenAdminBase = admin.ModelAdmin[ApiToken]
    _ApiTokenFormBase = forms.ModelForm[ApiToken]
else:
    _ApiTokenAdminBase = admin.ModelAdmin
    _ApiTokenFormBase = forms.ModelForm

_SECRET_ATTRIBUTE = "_api_token_secret"  # noqa: S105 (an attribute name)


class ApiTokenForm(_ApiTokenFormBase):
    """Name, scope and expiry of a new token (the service makes it)."""

    class Meta:
        model = ApiToken
        fields = ["name", "read_only", "expires_at"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        problems = token_field_errors(
            name=cleaned.get("name") or "", expires_at=cleaned.get("expires_at")
        )
        for field, words in problems.items():
            if field not in self.errors:
                for message in words:
                    self.add_error(field, message)
        return cleaned


@admin.register(ApiToken)
class ApiTokenAdmin(_ApiTokenAdminBase):
    """The list shows name, scope, created, last used, expiry and state; tokens are added
    and revoked, never edited or deleted."""

    form = ApiTokenForm
    list_display = ("name", "scope", "created_at", "last_used_at", "expires_at", "state")
    search_fields = ("name",)
    readonly_fields = ("name", "read_only", "created_at", "last_used_at", "expires_at", "state")
    actions = ["revoke_tokens"]

    @admin.display(description="State")
    def state(self, obj: ApiToken) -> str:
        return obj.status()

    @admin.display(description="Scope")
    def scope(self, obj: ApiToken) -> str:
        return "Read only" if obj.read_only else "Edit"

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        return () if obj is None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> Any:
        found = super().get_actions(request)
        if not self.has_change_permission(request):
            found.pop("revoke_tokens", None)
        return found

    @admin.action(description="Revoke selected API tokens")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        user = request.user if request.user.is_authenticated else None
        for token in queryset:
            if not token.is_revoked():
                api_token_revoke(token=token, user=user)
                self.log_change(request, token, "Revoked the API token.")
        self.message_user(request, "Revoked.", messages.SUCCESS)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            return  # nothing of a token changes after it is made
        user = request.user if request.user.is_authenticated else None
        token, secret = api_token_create(
            name=form.cleaned_data["name"],
            read_only=form.cleaned_data["read_only"],
            expires_at=form.cleaned_data["expires_at"],
            user=user,
        )
        obj.pk, obj.secret_sha256, obj.actor_id = token.pk, token.secret_sha256, token.actor_id
        obj.created_at = token.created_at
        setattr(request, _SECRET_ATTRIBUTE, secret)

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        """The secret, once, on its own page (never in a message, a cookie or the log)."""
        secret = getattr(request, _SECRET_ATTRIBUTE, None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "token": obj,
            "secret": secret,
            "account_id": Account.objects.current().id,
            "title": "API token created",
        }
        response = TemplateResponse(request, "admin/api/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), "account_id": Account.objects.current().id}
        return super().changelist_view(request, context)
