"""The access console: Django's admin site, dressed and ordered as an access product."""

from __future__ import annotations

from django.contrib import admin


class AccessConsole(admin.AdminSite):
    """The dashboard. Sections appear in the order operators work through them."""

    site_header = "accessctl"
    site_title = "accessctl console"
    index_title = "Access console"
    # Apps listed first to last on the home page and in the side bar; others follow.
    section_order = ("trust", "policies", "tokens", "auth")

    def get_app_list(self, request, app_label=None):  # type: ignore[no-untyped-def]
        apps = super().get_app_list(request, app_label)
        rank = {label: i for i, label in enumerate(self.section_order)}
        return sorted(apps, key=lambda a: rank.get(a["app_label"], len(rank)))
