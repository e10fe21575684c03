"""The guarded application's pages, the forward-auth endpoint and the health probes (included
at the root).

The access middleware answers the forward-auth and probe paths itself; the routes are here so
that the endpoints have names and work in a URLconf whatever the middleware order.
"""

from django.urls import path

from apps.gateway import views
from apps.gateway.forward_auth import FORWARD_AUTH_PATH, forward_auth
from apps.gateway.health import HEALTHZ_PATH, READYZ_PATH, healthz, readyz

urlpatterns = [
    path("", views.index, name="gateway-index"),
    path(FORWARD_AUTH_PATH.lstrip("/"), forward_auth, name="gateway-forward-auth"),
    path(HEALTHZ_PATH.lstrip("/"), healthz, name="gateway-healthz"),
    path(READYZ_PATH.lstrip("/"), readyz, name="gateway-readyz"),
]
