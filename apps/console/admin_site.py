"""The access console: Django's admin site, dressed and ordered as an access product."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

# What each section and page is for, shown on the console's home page. Keyed by app label and
# by "app_label.model_name"; a section or page without an entry simply shows no explanation.
SECTION_NOTES: dict[str, str] = {
    "trust": "Who may connect: the certificate authorities that issue your clients' certificates.",
    "policies": "What each hostname requires, in the order Cloudflare Access evaluates it.",
    "tokens": "The CF_Authorization sessions issued after a successful check, and their keys.",
    "gateway": "How requests reach accessctl and what it decided about them.",
    "auth": "The operators who may sign in to this console, and what they may change.",
}
PAGE_NOTES: dict[str, str] = {
    "trust.mtlscertificate": (
        "CA certificates that verify client certificates, bound to hostnames."
    ),
    "policies.accesspolicy": (
        "Decisions per hostname: Include, Require and Exclude rules, and how long a session lasts."
    ),
    "tokens.signingkey": "Keys that sign session tokens, rotated on a schedule; public at JWKS.",
    "auth.user": "Operators' accounts, their permissions and passwords.",
    "auth.group": "Sets of permissions given to several operators at once.",
}


class AccessConsole(admin.AdminSite):
    """The dashboard. Sections appear in the order operators work through them."""

    site_header = "accessctl"
    site_title = "accessctl"
    index_title = "Access console"
    # The console is the product: there is no separate public site to link to.
    site_url = None
    # Apps listed first to last on the home page and in the side bar; others follow.
    section_order = ("trust", "policies", "tokens", "gateway", "auth")

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[dict[str, Any]]:
        """Django's app list, in console order, each section and page with its explanation."""
        apps = super().get_app_list(request, app_label)
        rank = {label: i for i, label in enumerate(self.section_order)}
        apps.sort(key=lambda a: rank.get(a["app_label"], len(rank)))
        for app in apps:
            app["note"] = SECTION_NOTES.get(app["app_label"], "")
            for model in app["models"]:
                key = f"{app['app_label']}.{model['object_name'].lower()}"
                model["note"] = PAGE_NOTES.get(key, "")
                # "Add mTLS Certificate": the same words as the button on the list page.
                model["add_label"] = f"Add {model['model']._meta.verbose_name}"
        return apps

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """The home page, with how many records each page holds (one COUNT per page)."""
        response = super().index(request, extra_context)
        for app in response.context_data["app_list"]:
            for model in app["models"]:
                model["count"] = model["model"]._default_manager.count()
        return response
