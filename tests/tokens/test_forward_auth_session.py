"""The session step as the forward-auth endpoint uses it: the token goes back to the proxy."""

from __future__ import annotations

import urllib.parse

import pytest
from django.http import HttpResponse

from accessctl.core.request import IncomingRequest, Verdict
from apps.gateway.decision import decide
from apps.gateway.session_step import session_step
from apps.tokens import sessions
from tests.factories import certs as certfactory
from tests.factories.snapshots import host_config

pytestmark = pytest.mark.django_db
HOST = "app.localhost"


def described(cert=None) -> IncomingRequest:
    headers = {"HTTP_HOST": HOST}
    if cert is not None:
        headers["HTTP_X_SSL_CLIENT_CERT"] = urllib.parse.quote(cert.pem)
    return IncomingRequest("127.0.0.1", HOST, "/", headers)


def test_an_allowed_request_returns_the_token_and_the_cookie_to_the_proxy(install_snapshot):
    root = certfactory.make_ca("Forward Auth Root")
    install_snapshot(host_config(HOST, root=root))
    decision, effect = session_step(
        decide(described(certfactory.make_leaf(root))), path="/", cookies={}, xhr=False
    )
    assert decision.verdict is Verdict.ALLOW
    response = HttpResponse()
    effect.apply_forward_auth(response)
    token = response[sessions.ASSERTION_HEADER]
    assert response.cookies[sessions.COOKIE_NAME].value == token


def test_a_session_alone_is_enough_for_the_proxy(install_snapshot):
    root = certfactory.make_ca("Forward Auth Root")
    install_snapshot(host_config(HOST, root=root))
    _, first = session_step(
        decide(described(certfactory.make_leaf(root))), path="/", cookies={}, xhr=False
    )
    cookies = {sessions.COOKIE_NAME: first.token}
    decision, effect = session_step(decide(described()), path="/x", cookies=cookies, xhr=False)
    assert decision.verdict is Verdict.ALLOW
    response = HttpResponse()
    effect.apply_forward_auth(response)
    assert response[sessions.ASSERTION_HEADER] == first.token
    assert sessions.COOKIE_NAME not in response.cookies


def test_a_refused_session_of_a_script_answers_401_to_the_proxy(install_snapshot):
    install_snapshot(host_config(HOST, root=certfactory.make_ca("Forward Auth Root")))
    cookies = {sessions.COOKIE_NAME: "not.a.token"}
    decision, effect = session_step(decide(described()), path="/", cookies=cookies, xhr=True)
    assert decision.verdict is Verdict.DENY
    assert decision.reason.startswith("token_")
    response = HttpResponse(status=403)
    effect.apply_forward_auth(response)
    assert response.status_code == 401
    assert sessions.ASSERTION_HEADER not in response
    assert response.cookies[sessions.COOKIE_NAME]["max-age"] == 0
