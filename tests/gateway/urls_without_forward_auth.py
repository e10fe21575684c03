"""A URLconf with no route for the forward-auth endpoint (tests/gateway/test_forward_auth.py)."""

from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("", lambda request: HttpResponse("origin"))]
