"""Forward-auth records the client's method, which the proxy reports: an nginx auth_request
subrequest is always a GET, so the access log would otherwise say GET for every POST."""

from __future__ import annotations

import pytest

from apps.traffic.models import AccessLogEntry
from apps.traffic.recorder import recorder
from tests.factories.forwarded import ask, escaped
from tests.factories.hosts import ATTACKER, HOST

pytestmark = pytest.mark.django_db


def test_nginx_x_original_method_is_the_method_logged_and_recorded(
    client, guarded, pki, access_log
):
    response = ask(client, cert=escaped(pki.leaf), HTTP_X_ORIGINAL_METHOD="POST")

    assert response.status_code == 200
    assert access_log.last["method"] == "POST"
    assert recorder.flush() == 1
    assert AccessLogEntry.objects.get().method == "POST"


def test_traefik_and_caddy_x_forwarded_method_is_the_method_logged(client, guarded, access_log):
    assert ask(client, HTTP_X_FORWARDED_METHOD="DELETE").status_code == 403

    assert access_log.last["method"] == "DELETE"


def test_the_method_header_of_an_untrusted_peer_is_ignored(client, guarded, access_log):
    ask(client, host=HOST, remote=ATTACKER, HTTP_X_ORIGINAL_METHOD="POST")

    assert access_log.last["method"] == "GET"


@pytest.mark.parametrize("value", ["PO ST", "GET, POST", "<script>", "X" * 17, ""])
def test_a_method_that_is_no_http_token_is_ignored(client, guarded, access_log, value):
    ask(client, HTTP_X_ORIGINAL_METHOD=value, HTTP_X_FORWARDED_METHOD=value)

    assert access_log.last["method"] == "GET"
    assert access_log.last["reason"] == "certificate_required"  # decided as without it


def test_a_request_through_the_middleware_logs_its_own_method_whatever_a_header_says(
    client, guarded, pki, access_log
):
    client.post(
        "/",
        REMOTE_ADDR="127.0.0.1",
        HTTP_HOST=HOST,
        HTTP_X_SSL_CLIENT_CERT=escaped(pki.leaf),
        HTTP_X_ORIGINAL_METHOD="DELETE",
    )

    assert access_log.last["method"] == "POST"
