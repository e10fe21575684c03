"""The answer to a dashboard request that failed with an exception (``handler500``).

A database that cannot be reached is an outage, not a bug: the console answers 503 with
``Retry-After`` and a page that says so (rendered without the session, the user or any other
query), instead of Django's 500. Guarded hostnames are not concerned: they are answered from
the in-memory snapshot, and the API answers in its own envelope.
"""

from __future__ import annotations

import sys

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views import defaults

RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """503 for a database error (Django calls this inside its ``except`` block, so the
    exception is the one being handled), Django's own 500 page for anything else."""
    failure = sys.exc_info()[1]
    if not isinstance(failure, DatabaseError):
        return defaults.server_error(request)
    page = loader.get_template("admin/console/database_unavailable.html").render({})
    response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
