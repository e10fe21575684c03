"""URL configuration: the dashboard under /admin/, the Access endpoints under /cdn-cgi/access/."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("cdn-cgi/access/", include("apps.tokens.urls")),
    path("", include("apps.gateway.urls")),
]
