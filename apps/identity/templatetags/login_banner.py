"""``{% login_banner %}``: the dashboard's banner about applications whose chosen login
methods are all disabled (their login pages refuse everyone), on every console page
(templates/admin/base_site.html), for the operators who may see applications."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from apps.identity.models import applications_offering_nothing

register = template.Library()
SHOWN = 5


@register.inclusion_tag("admin/identity/login_banner.html", takes_context=True)
def login_banner(context: dict[str, Any]) -> dict[str, Any]:
    """The applications to name (at most :data:`SHOWN`, each with a link to its page) and how
    many more there are."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_active or not user.has_perm("policies.view_application"):
        return {"applications": [], "more": 0}
    found = list(applications_offering_nothing()[: SHOWN + 1])
    more = applications_offering_nothing().count() - SHOWN if len(found) > SHOWN else 0
    return {
        "applications": [
            (app.name, reverse("admin:policies_application_change", args=[app.pk]))
            for app in found[:SHOWN]
        ],
        "more": more,
    }
