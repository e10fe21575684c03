"""schemathesis against the API's own OpenAPI document (/client/v4/openapi.json), through the
real WSGI application: whatever it generates (valid bodies, wrong types, odd ids), no answer
is a 5xx and every answer conforms to the document. One test per operation of the document."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.api.api import api
from apps.api.models import Account
from tests.factories.api import make_token
from tests.factories.trust import upload_ca

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATIONS = [
    (path, method.upper())
    for path, methods in api.get_openapi_schema(path_prefix="/client/v4")["paths"].items()
    for method in methods
]


@pytest.fixture
def live_schema(db, root_ca, settings):
    """The document as the running application serves it, its WSGI app to call."""
    # Werkzeug's test client sends Host: localhost, a dashboard hostname in development.
    settings.ACCESSCTL_DASHBOARD_HOSTS = [*settings.ACCESSCTL_DASHBOARD_HOSTS, "localhost"]
    upload_ca("Fleet", ["app.example.com"], root_ca)
    # As Django's own test client does: the start and end of a request must not close the
    # test's database connection (and with it the test's transaction).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/client/v4/openapi.json", get_wsgi_application())
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_answer_conforms_to_the_openapi_document(live_schema, path, method) -> None:
    _, secret = make_token("fuzz")
    bearer = {"Authorization": f"Bearer {secret}"}
    account = Account.objects.current().id
    operation = live_schema[path][method]

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=8,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case) -> None:
        if "account_id" in (case.path_parameters or {}):
            # The one account: a random id would only ever reach the 404.
            case.path_parameters["account_id"] = account
        case.call_and_validate(headers=bearer, checks=CHECKS)

    answers_as_documented()
