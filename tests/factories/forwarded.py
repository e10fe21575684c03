"""Requests as the TLS terminator forwards them, sent through the Django test client."""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpResponse
from django.test import Client

from tests.factories.certs import Issued
from tests.factories.hosts import HOST, PROXY

FORWARD_AUTH = "/_accessctl/forward-auth"


def escaped(*issued: Issued) -> str:
    """The value nginx's $ssl_client_escaped_cert would forward."""
    return quote("".join(i.pem for i in issued), safe="")


def fetch(
    client: Client,
    path: str = "/",
    *,
    host: str = HOST,
    cert: str | None = None,
    remote: str = PROXY,
    accept: str | None = None,
    **extra: str,
) -> HttpResponse:
    """GET through the middleware as the TLS terminator (REMOTE_ADDR) would forward it.

    Each call is a new client (no session cookie from an earlier call): these tests are about
    the certificate decision; sessions have their own tests (tests/tokens).
    """
    client.cookies.clear()
    meta = {"REMOTE_ADDR": remote, "HTTP_HOST": host, **extra}
    if cert is not None:
        meta["HTTP_X_SSL_CLIENT_CERT"] = cert
    if accept:
        meta["HTTP_ACCEPT"] = accept
    return client.get(path, **meta)


def ask(client: Client, **request: str | None) -> HttpResponse:
    """The forward-auth endpoint's answer for the request a proxy describes (nginx
    auth_request, Traefik ForwardAuth, Caddy forward_auth): ``fetch``'s keywords, with the
    original URI and host as META keys (``HTTP_X_ORIGINAL_URI=...``)."""
    return fetch(client, FORWARD_AUTH, **request)
