"""The certificate header is trusted only from a trusted proxy, and only under its exact name."""

from __future__ import annotations

import asyncio
import runpy
from pathlib import Path

import pytest
from django.core.handlers.asgi import ASGIHandler

from tests.factories.forwarded import escaped, fetch
from tests.factories.hosts import ATTACKER, HOST

pytestmark = pytest.mark.django_db


def test_the_certificate_header_from_an_untrusted_address_is_ignored(
    client, guarded, pki, access_log
):
    response = fetch(client, cert=escaped(pki.leaf), remote=ATTACKER)
    assert response.status_code == 403
    assert access_log.last["reason"] == "certificate_required"
    assert "untrusted peer" in access_log.last["detail"]
    assert access_log.last["cert_fingerprint_sha256"] is None


def test_the_same_certificate_from_the_proxy_is_accepted(client, guarded, pki):
    assert fetch(client, cert=escaped(pki.leaf)).status_code == 200


def test_trusted_proxies_are_cidr_ranges(client, guarded, pki, settings):
    settings.ACCESSCTL_TRUSTED_PROXIES = ["10.1.0.0/16", "fd00::/64"]
    assert fetch(client, cert=escaped(pki.leaf), remote="10.1.7.9").status_code == 200
    assert fetch(client, cert=escaped(pki.leaf), remote="fd00::5").status_code == 200
    assert fetch(client, cert=escaped(pki.leaf), remote="10.2.0.1").status_code == 403
    assert fetch(client, cert=escaped(pki.leaf), remote="127.0.0.1").status_code == 403


def test_an_invalid_trusted_proxy_entry_trusts_nobody_more(client, guarded, pki, settings):
    settings.ACCESSCTL_TRUSTED_PROXIES = ["not-a-cidr"]
    assert fetch(client, cert=escaped(pki.leaf)).status_code == 403


def _asgi_get(headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One GET through Django's ASGI handler with header names exactly as given."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "headers": headers,
    }
    sent: list[dict] = []

    requested = []

    async def receive():
        if not requested:
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected until the response is sent
        return None

    async def send(message):
        sent.append(message)

    asyncio.run(ASGIHandler()(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


@pytest.mark.django_db(transaction=True)
def test_the_underscore_spelling_is_refused_where_the_server_shows_it(
    guarded_committed, pki, access_log
):
    value = escaped(pki.leaf).encode()
    status, _ = _asgi_get([(b"host", HOST.encode()), (b"x_ssl_client_cert", value)])
    assert status == 403
    assert access_log.last["reason"] == "header_underscore_spelling"
    status, _ = _asgi_get([(b"host", HOST.encode()), (b"x-ssl-client-cert", value)])
    assert status == 200


def test_gunicorn_is_configured_to_drop_underscore_headers():
    # Under WSGI, X_SSL_Client_Cert and X-SSL-Client-Cert both become HTTP_X_SSL_CLIENT_CERT:
    # the server must drop the underscore spelling before Django sees it.
    conf = runpy.run_path(str(Path(__file__).parents[2] / "accessctl/gunicorn.conf.py"))
    assert conf["header_map"] == "drop"


def test_a_repeated_header_joined_by_a_comma_is_refused(client, guarded, pki, access_log):
    twice = f"{escaped(pki.leaf)},{escaped(pki.leaf)}"
    assert fetch(client, cert=twice).status_code == 403
    assert access_log.last["reason"] == "repeated_header"


def test_a_verified_flag_without_a_certificate_is_refused(client, guarded, access_log):
    response = fetch(
        client,
        HTTP_X_SSL_CLIENT_VERIFY="SUCCESS",
        HTTP_X_SSL_CLIENT_S_DN="CN=device-1",
        HTTP_X_CLIENT_VERIFIED="true",
    )
    assert response.status_code == 403
    assert access_log.last["reason"] == "certificate_required"


def test_a_verified_flag_with_an_untrusted_certificate_is_refused(client, guarded, access_log):
    from tests.factories import certs

    stranger = certs.make_leaf(certs.make_ca("Stranger Root"), "device-1")
    response = fetch(client, cert=escaped(stranger), HTTP_X_SSL_CLIENT_VERIFY="SUCCESS")
    assert response.status_code == 403
    assert access_log.last["reason"] == "chain_untrusted"
