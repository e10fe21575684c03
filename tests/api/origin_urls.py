"""A URLconf with the API and, at ``/``, an origin that echoes the client-certificate headers
it received (the access middleware runs in front of it as in front of any Django site)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from apps.api.api import api
from apps.gateway.client_certificate import CLIENT_COPIES


def echo(request: HttpRequest) -> JsonResponse:
    return JsonResponse({key: request.META.get(key, "") for key in CLIENT_COPIES})


urlpatterns = [path("client/v4/", api.urls), path("", echo)]
