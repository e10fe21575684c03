"""``{% login_banner %}``: the dashboard's banner about the applications whose login page
offers no login method (``applications_offering_nothing``: they refuse everyone), on every
console page (templates/admin/base_site.html), for the operators who may see applications."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from apps.identity.models import SHOWN, applications_offering_nothing

register = template.Library()


@register.inclusion_tag("admin/identity/login_banner.html", takes_context=True)
def login_banner(context: dict[str, Any]) -> dict[str, Any]:
    """The applications to name (at most :data:`SHOWN`, each with a link to its page) and how
    many more there are. Only on the console's own pages for an operator who passed every
    check of the console (``has_permission``: staff, signed in, second factor) and may see
    applications."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if not context.get("has_permission") or user is None:
        return {"applications": [], "more": 0}
    if not user.has_perm("policies.view_application"):
        return {"applications": [], "more": 0}
    found = list(applications_offering_nothing().values_list("pk", "name")[: SHOWN + 1])
    more = applications_offering_nothing().count() - SHOWN if len(found) > SHOWN else 0
    return {
        "applications": [
            (name, reverse("admin:policies_application_change", args=[pk]))
            for pk, name in found[:SHOWN]
        ],
        "more": more,
    }
