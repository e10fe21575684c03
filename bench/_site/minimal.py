"""For the record: a minimal Django project (one view, no app, no middleware) and a bare WSGI
callable, each answering ``ok`` as /bench/ok does.

    gunicorn _site.minimal:django_application      # DJANGO_SETTINGS_MODULE=_site.minimal
    gunicorn _site.minimal:bare_application
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

SECRET_KEY = "bench-minimal-project-not-a-secret"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
USE_TZ = True


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/ok", ok)]


def bare_application(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """WSGI with nothing in between."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def _django() -> Callable[..., Iterable[bytes]]:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def django_application(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """The minimal Django project, set up on its first request."""
    global _app
    if _app is None:
        _app = _django()
    return _app(environ, start_response)


_app: Callable[..., Iterable[bytes]] | None = None
