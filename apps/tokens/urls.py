"""Access endpoints under /cdn-cgi/access/ (certs, logout, get-identity)."""

from django.urls import path

from apps.tokens import views

app_name = "access"

urlpatterns = [
    path("certs", views.certs, name="certs"),
    path("logout", views.logout, name="logout"),
    path("get-identity", views.get_identity, name="get-identity"),
]
