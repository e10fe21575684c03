"""URL configuration: the dashboard under /admin/, the API under /client/v4/, the Access
endpoints and the login pages under /cdn-cgi/access/, the Prometheus metrics at
/_accessctl/metrics."""

from django.contrib import admin
from django.urls import include, path, re_path

from apps.api.api import api, route_not_found
from apps.traffic.views import METRICS_PATH, metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    # Cloudflare's API shape (apps/api), on dashboard hostnames only (the access middleware).
    path("client/v4/", api.urls),
    re_path(r"^client/v4(?:/(?P<rest>.*))?$", route_not_found),
    path("cdn-cgi/access/", include("apps.gateway.access_urls")),
    path("cdn-cgi/access/", include("apps.identity.urls")),
    path(METRICS_PATH.lstrip("/"), metrics, name="traffic-metrics"),
    path("", include("apps.gateway.urls")),
]

# A dashboard request that meets an unreachable database: 503 and a page saying so.
handler500 = "apps.console.errors.server_error"
