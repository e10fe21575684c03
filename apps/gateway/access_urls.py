"""Access endpoints under /cdn-cgi/access/ (certs, logout, get-identity, authorized)."""

from django.urls import path

from apps.gateway import access_endpoints as views

app_name = "access"

urlpatterns = [
    path("certs", views.certs, name="certs"),
    path("logout", views.logout, name="logout"),
    path("get-identity", views.get_identity, name="get-identity"),
    path("authorized", views.authorized, name="authorized"),
]
