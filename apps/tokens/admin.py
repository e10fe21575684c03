"""The signing keys in the dashboard: read-only, public facts only (never the private key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from apps.policies.models import Application
from apps.tokens import keys, sessions
from apps.tokens.models import SigningKey

if TYPE_CHECKING:
    # django-stubs makes ModelAdmin generic; Django's own class cannot be subscripted at run time.
    _SigningKeyAdminBase = admin.ModelAdmin[SigningKey]
else:
    _SigningKeyAdminBase = admin.ModelAdmin


def application_audiences() -> list[Application]:
    """Every application, with its domains, by name: each one's AUD tag is its tokens' aud."""
    return list(Application.objects.prefetch_related("domains").order_by("name"))


@admin.register(SigningKey)
class SigningKeyAdmin(_SigningKeyAdminBase):
    """Keys are made and rotated by the system (`accessctl keys rotate`), not by hand."""

    list_display = (
        "kid",
        "algorithm",
        "generation",
        "created_at",
        "signs_from",
        "retired_at",
        "key_state",
    )
    fields = (
        "kid",
        "algorithm",
        "generation",
        "key_state",
        "created_at",
        "signs_from",
        "retired_at",
        "public_key_pem",
        "certificate_pem",
    )
    readonly_fields = fields
    search_fields = ("kid",)

    @admin.display(description="State")
    def key_state(self, obj: SigningKey) -> str:
        return obj.state(timezone.now(), keys.overlap()).label

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The key list, and each hostname's token audience for origins to validate against."""
        context = {
            "audiences": application_audiences(),
            "token_issuer": sessions.token_issuer(),
            "token_algorithm": keys.configured_algorithm().value,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SigningKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SigningKey | None = None) -> bool:
        return False
