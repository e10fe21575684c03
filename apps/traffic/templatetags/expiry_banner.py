"""``{% expiry_banner %}``: the dashboard's banner about CA bundles and client certificates
that expire within 30 days (or have expired), on every console page (templates/admin/
base_site.html), for the operators who may see them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone

from apps.traffic.alerts import expiring
from apps.traffic.choices import AlertSubject

register = template.Library()
URGENT_DAYS = 14


@register.inclusion_tag("admin/traffic/expiry_banner.html", takes_context=True)
def expiry_banner(context: dict[str, Any]) -> dict[str, Any]:
    """What the banner shows: each kind of certificate, urgent (expired or within 14 days)
    or not, with a link to its filtered list."""
    request = context.get("request")
    user = getattr(request, "user", None)
    # has_permission: the console's own check (active staff, signed in, second factor done).
    if not context.get("has_permission") or user is None:
        return {"notes": []}
    now = timezone.now()
    may_see = {
        AlertSubject.CA: user.has_perm("trust.view_mtlscertificate"),
        AlertSubject.LEAF: user.has_perm("traffic.view_clientcertificate"),
    }
    lists = {
        AlertSubject.CA: reverse("admin:trust_mtlscertificate_changelist"),
        AlertSubject.LEAF: reverse("admin:traffic_clientcertificate_changelist"),
    }
    items = [item for item in expiring(now) if may_see[item.kind]]
    notes = []
    for kind in (AlertSubject.CA, AlertSubject.LEAF):
        mine = [item for item in items if item.kind == kind]
        if not mine:
            continue
        urgent = [i for i in mine if i.not_after - now < dt.timedelta(days=URGENT_DAYS)]
        notes.append(
            {
                "level": "error" if urgent else "warning",
                "lines": [item.line(now) for item in mine[:5]],
                "more": len(mine) - 5 if len(mine) > 5 else 0,
                "url": lists[kind],
                "label": "Mutual TLS" if kind == AlertSubject.CA else "Client certificates",
            }
        )
    return {"notes": notes}
