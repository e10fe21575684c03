"""Expiry alerts (beside "Change password"): each operator says whether ``accessctl notify``
emails them.

A preference is personal: every staff user sees and changes their own only, whatever their
permissions, and the page lists what is expiring now (what the banner summarises).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone

from apps.traffic.alerts import expiring
from apps.traffic.models import AlertPreference

if TYPE_CHECKING:
    _AlertPreferenceAdminBase = admin.ModelAdmin[AlertPreference]
    _AlertPreferenceFormBase = forms.ModelForm[AlertPreference]
else:
    _AlertPreferenceAdminBase = admin.ModelAdmin
    _AlertPreferenceFormBase = forms.ModelForm


class AlertPreferenceForm(_AlertPreferenceFormBase):
    """The one choice an operator makes about expiry alerts."""

    class Meta:
        model = AlertPreference
        fields = ["email_expiry_alerts"]


@admin.register(AlertPreference)
class AlertPreferenceAdmin(_AlertPreferenceAdminBase):
    """The signed-in operator's own expiry-alert preference (one page, no list)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        # Not a section of the console: a personal setting, linked beside "Change password".
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff) and (obj is None or obj.user == user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The operator's preference form, and what expires within 30 days."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        preference, _ = AlertPreference.objects.get_or_create(user=request.user)
        form = AlertPreferenceForm(
            request.POST if request.method == "POST" else None, instance=preference
        )
        if request.method == "POST" and form.is_valid():
            form.save()
            state = "on" if preference.email_expiry_alerts else "off"
            self.message_user(request, f"Expiry alerts by email are {state}.", messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        now = timezone.now()
        context = {
            **self.admin_site.each_context(request),
            **(extra_context or {}),
            "opts": self.model._meta,
            "title": "Expiry alerts",
            "form": form,
            "email": getattr(request.user, "email", ""),
            "expiring": [(item, item.line(now)) for item in expiring(now)],
        }
        return TemplateResponse(request, "admin/traffic/alertpreference/preference.html", context)
