"""The guarded application's pages and the forward-auth endpoint (included at the root)."""

from django.urls import path

from apps.gateway import views
from apps.gateway.middleware import FORWARD_AUTH_PATH

urlpatterns = [
    path("", views.index, name="gateway-index"),
    path(FORWARD_AUTH_PATH.lstrip("/"), views.forward_auth, name="gateway-forward-auth"),
]
