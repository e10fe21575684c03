"""The access console: Django's admin site, dressed and ordered as an access product."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse

from apps.base.backends import Backend, Source
from apps.base.conf import access_settings
from apps.console.login import ConsoleLoginForm, session_verified
from apps.console.second_factor import enrolment_pending, second_factor_view
from apps.console.tester import policy_tester
from apps.gateway.health import Readiness, readiness
from apps.policies.models import AccessPolicy
from apps.revocation.models import stale_crl_warnings

# What each section and page is for, shown on the console's home page. Keyed by app label and
# by "app_label.model_name"; a section or page without an entry simply shows no explanation.
SECTION_NOTES: dict[str, str] = {
    "trust": "Who may connect: the certificate authorities that issue your clients' certificates.",
    "revocation": "Who may no longer connect: CRLs of your CAs, and certificates revoked by hand.",
    "policies": "What each hostname requires, in the order Cloudflare Access evaluates it.",
    "tokens": "The CF_Authorization sessions issued after a successful check, and their keys.",
    "api": "Automation: tokens for Cloudflare's API shape under /client/v4, and the account id.",
    "gateway": "How requests reach accessctl and what it decided about them.",
    "identity": "Where people log in: the identity providers Allow policies send them to.",
    "traffic": "What the guard decided, request by request, and the client certificates it saw.",
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
    "identity.loginmethod": "OpenID Connect providers people sign in with (second layer).",
    "traffic.accesslogentry": "Every access decision, Bypass included; filter and export it.",
    "traffic.clientcertificate": (
        "Each verified client certificate seen: where, how often, and when it expires."
    ),
    "api.apitoken": "Bearer tokens for /client/v4 (read only or edit); the secret is shown once.",
    "auth.user": "Operators' accounts, their permissions and passwords.",
    "auth.group": "Sets of permissions given to several operators at once.",
}


def backend_notices(state: Readiness) -> list[str]:
    """What the banner on every console page says while a backend is unreachable from this
    node (nothing when all is well)."""
    notices = []
    if not state.ready:
        notices.append(
            "Guarded hostnames answer 503 on this node: neither the database nor the cache has "
            "confirmed its configuration. They resume by themselves when either answers."
        )
    elif state.confirmed_by is Source.CACHE:
        notices.append(
            "The database is unreachable from this node: guarded hostnames are decided with the "
            "last configuration it confirmed, which the cache still vouches for. Changes cannot "
            "be saved until the database is back."
        )
    if Backend.CACHE in state.down:
        notices.append(
            f"The cache (Redis) has been unreachable from this node for "
            f"{state.down[Backend.CACHE]:.0f} s: changes still reach every node through the "
            "database, but if the database fails too, guarded hostnames answer 503 after "
            "ACCESSCTL_CONFIG_MAX_STALENESS."
        )
    return notices


class AccessConsole(admin.AdminSite):
    """The dashboard. Sections appear in the order operators work through them."""

    site_header = "accessctl"
    site_title = "accessctl"
    index_title = "Access console"
    # The console is the product: there is no separate public site to link to.
    site_url = None
    # Apps listed first to last on the home page and in the side bar; others follow.
    section_order = (
        "trust", "policies", "revocation", "tokens", "api", "gateway", "identity", "traffic",
        "auth",
    )  # fmt: skip
    login_form = ConsoleLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        """Active staff, and (ACCESSCTL_REQUIRE_2FA) signed in with their second factor."""
        if not super().has_permission(request):
            return False
        return not access_settings().require_2fa or session_verified(request)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Django's login page (password, and the code once there is a second factor); an
        operator signed in with the password alone who has none yet sets it up first."""
        if request.method == "GET" and enrolment_pending(request):
            return HttpResponseRedirect(reverse("admin:second_factor", current_app=self.name))
        return super().login(request, extra_context)

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

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        """Django's context for every console page, plus the backend banner's lines."""
        return {**super().each_context(request), "backend_notices": backend_notices(readiness())}

    def get_urls(self) -> list[URLResolver | URLPattern]:
        """The admin's URLs, plus the policy tester under the policies' own URL (first, or
        the policy admin would read ``tester`` as an object id)."""
        tester = path(
            "policies/accesspolicy/tester/",
            self.admin_view(self.policy_tester_view),
            name="policies_accesspolicy_tester",
        )
        # Not behind admin_view: reached before the session is verified (second_factor_view
        # asks for a signed-in operator itself).
        second_factor = path("second-factor/", self.second_factor, name="second_factor")
        return [tester, second_factor, *super().get_urls()]

    def second_factor(self, request: HttpRequest) -> HttpResponse:
        """Setting up the authenticator app and the recovery codes (apps.console.second_factor)."""
        return second_factor_view(request, self)

    def policy_tester_view(self, request: HttpRequest) -> HttpResponse:
        """The policy tester page (``apps.console.tester``), in the policies' breadcrumbs."""
        context = {**self.each_context(request), "opts": AccessPolicy._meta}
        return policy_tester(request, context)

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        """The home page, with how many records each page holds (one COUNT per page), and a
        warning for each CRL past its next update (to those who may see CRLs)."""
        if request.user.has_perm("revocation.view_certificaterevocationlist"):
            for warning in stale_crl_warnings():
                messages.warning(request, warning)
        response = super().index(request, extra_context)
        # AdminSite.index() always renders with a context (app_list, …).
        context = cast("dict[str, Any]", response.context_data)
        for app in context["app_list"]:
            for model in app["models"]:
                model["count"] = model["model"]._default_manager.count()
        return response
