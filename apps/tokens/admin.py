"""The signing keys in the dashboard: read-only, public facts only (never the private key)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accessctl.core import tokens
from apps.gateway.snapshot import audience_for
from apps.policies.models import AccessPolicy
from apps.tokens import keys, sessions
from apps.tokens.models import SigningKey
from apps.trust.models import AssociatedHostname


def hostname_audiences() -> list[tuple[str, str]]:
    """Every configured hostname with the ``aud`` of its tokens, sorted by hostname."""
    hostnames = set(AssociatedHostname.objects.values_list("hostname", flat=True))
    hostnames |= set(AccessPolicy.objects.values_list("hostname", flat=True))
    return [(hostname, audience_for(hostname)) for hostname in sorted(hostnames)]


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
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
            "audiences": hostname_audiences(),
            "token_issuer": sessions.token_issuer(),
            "token_algorithm": tokens.ALGORITHM,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SigningKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SigningKey | None = None) -> bool:
        return False
