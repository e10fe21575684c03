"""The signing keys in the dashboard: read-only, public facts only (never the private key)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from apps.tokens import keys
from apps.tokens.models import SigningKey


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    """Keys are made and rotated by the system (`accessctl keys rotate`), not by hand."""

    list_display = ("kid", "algorithm", "generation", "created_at", "retired_at", "key_state")
    fields = (
        "kid",
        "algorithm",
        "generation",
        "key_state",
        "created_at",
        "retired_at",
        "public_key_pem",
        "certificate_pem",
    )
    readonly_fields = fields
    search_fields = ("kid",)

    @admin.display(description="State")
    def key_state(self, obj: SigningKey) -> str:
        return obj.state(timezone.now(), keys.overlap()).label

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SigningKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SigningKey | None = None) -> bool:
        return False
