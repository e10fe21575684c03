"""A stand-in application for the session tests: it echoes what the middleware passed on."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def echo(request: HttpRequest, rest: str = "") -> JsonResponse:
    access = getattr(request, "access", None)
    return JsonResponse(
        {
            "assertion": request.META.get("HTTP_CF_ACCESS_JWT_ASSERTION"),
            "reason": access.outcome.reason if access else None,
            "identity": access.identity.common_name if access and access.identity else None,
        }
    )


urlpatterns = [
    path("cdn-cgi/access/", include("apps.gateway.access_urls")),
    path("<path:rest>", echo),
    path("", echo),
]
