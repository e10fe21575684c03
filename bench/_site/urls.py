"""accessctl's URLs, and the one minimal view every scenario of the benchmark requests."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def ok(request: HttpRequest) -> HttpResponse:
    """Two bytes, no template, no database: whatever a request costs beyond it is the stack's."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/ok", ok), path("", include("accessctl.urls"))]
