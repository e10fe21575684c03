"""/_accessctl/forward-auth: the middleware's decision for a request a proxy describes
(nginx auth_request, Traefik ForwardAuth, Caddy forward_auth)."""

from __future__ import annotations

import pytest

from apps.gateway import config
from tests.factories.forwarded import ask, escaped
from tests.factories.hosts import ATTACKER, HOST, OTHER
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db


def test_nginx_style_a_valid_certificate_is_200(client, guarded, pki, access_log):
    response = ask(client, cert=escaped(pki.leaf), HTTP_X_ORIGINAL_URI="/app?x=1")
    assert response.status_code == 200
    assert response["X-Accessctl-Fingerprint-Sha256"] == pki.leaf.fingerprint
    assert access_log.last["path"] == "/app"
    assert access_log.last["decision"] == "allow"


def test_no_certificate_is_a_bare_403(client, guarded):
    response = ask(client)
    assert response.status_code == 403
    assert response.content == b""


def test_traefik_style_x_forwarded_host_names_the_original_host(client, guarded, pki):
    assert ask(client, host="auth.example.com", HTTP_X_FORWARDED_HOST=HOST).status_code == 403
    response = ask(
        client, host="auth.example.com", cert=escaped(pki.leaf), HTTP_X_FORWARDED_HOST=HOST
    )
    assert response.status_code == 200


def test_forwarding_headers_from_an_untrusted_peer_are_ignored(client, guarded, pki, access_log):
    response = ask(
        client, host=OTHER, remote=ATTACKER, cert=escaped(pki.leaf), HTTP_X_FORWARDED_HOST=HOST
    )
    assert response.status_code == 403
    assert access_log.last["hostname"] == OTHER  # decided for OTHER, never for HOST
    assert "X-Accessctl-Fingerprint-Sha256" not in response


def test_two_forwarded_hosts_are_refused(client, guarded, pki):
    response = ask(client, cert=escaped(pki.leaf), HTTP_X_FORWARDED_HOST=f"{OTHER},{HOST}")
    assert response.status_code == 403


def test_the_original_path_selects_the_policy(client, pki, db):
    upload_ca("Fleet", [HOST], pki.root, pki.inter)
    add_policy(
        name="no device-1 here",
        decision="deny",
        path_prefix="/private",
        rules=(("include", "common_name", "device-1"),),
    )
    add_policy(name="devices", decision="allow", order=2)
    cert = escaped(pki.leaf)
    assert ask(client, cert=cert, HTTP_X_FORWARDED_URI="/private/x").status_code == 403
    assert ask(client, cert=cert, HTTP_X_FORWARDED_URI="/public").status_code == 200
    assert ask(client, cert=cert, HTTP_X_ORIGINAL_URI="/private%2Fx").status_code == 403


def test_an_sni_mismatch_is_421(client, guarded, pki, settings):
    settings.ACCESSCTL_SNI_HEADER = "X-SSL-Server-Name"
    response = ask(client, cert=escaped(pki.leaf), HTTP_X_SSL_SERVER_NAME=OTHER)
    assert response.status_code == 421


def test_an_unconfirmed_configuration_is_503(client, guarded, monkeypatch):
    monkeypatch.setattr(config, "current_snapshot", lambda: None)
    assert ask(client).status_code == 503


def test_a_hostname_no_policy_guards_is_refused(client, db, access_log):
    # The proxy asks because it guards the request: a client naming some other hostname in
    # Host must not get through to the guarded upstream.
    assert ask(client, host="open.example.com").status_code == 403
    assert access_log.last["reason"] == "forward_auth_unguarded"


def test_a_dashboard_hostname_is_refused(client, guarded, pki, settings):
    settings.ACCESSCTL_DASHBOARD_HOSTS = ["auth.example.com"]
    assert ask(client, host="auth.example.com", cert=escaped(pki.leaf)).status_code == 403
    assert ask(client, HTTP_X_FORWARDED_HOST="auth.example.com").status_code == 403


def test_every_answer_repeats_its_status_in_a_header(client, guarded, pki):
    assert ask(client)["X-Accessctl-Status"] == "403"
    assert ask(client, cert=escaped(pki.leaf))["X-Accessctl-Status"] == "200"


@pytest.mark.parametrize(("real", "header"), [(421, "421"), (503, "503")])
def test_nginx_gets_a_421_or_503_as_403_with_the_real_status_in_a_header(
    client, guarded, pki, settings, monkeypatch, real, header
):
    settings.ACCESSCTL_SNI_HEADER = "X-SSL-Server-Name"
    if real == 503:
        monkeypatch.setattr(config, "current_snapshot", lambda: None)
    nginx = {"HTTP_X_SSL_SERVER_NAME": OTHER, "HTTP_X_ACCESSCTL_REFUSAL_STATUS": "403"}
    response = ask(client, cert=escaped(pki.leaf), **nginx)
    assert (response.status_code, response["X-Accessctl-Status"]) == (403, header)
    # Without the header (Traefik, Caddy pass any status on), the real status.
    plain = ask(client, cert=escaped(pki.leaf), HTTP_X_SSL_SERVER_NAME=OTHER)
    assert plain.status_code == real


def test_an_unavailable_answer_says_when_to_retry(client, guarded, monkeypatch):
    monkeypatch.setattr(config, "current_snapshot", lambda: None)
    assert ask(client)["Retry-After"] == "1"


@pytest.mark.parametrize("value", ["401", "200", "500", "yes"])
def test_only_403_can_stand_in_for_a_refusal(client, guarded, pki, settings, value):
    settings.ACCESSCTL_SNI_HEADER = "X-SSL-Server-Name"
    response = ask(
        client,
        cert=escaped(pki.leaf),
        HTTP_X_SSL_SERVER_NAME=OTHER,
        HTTP_X_ACCESSCTL_REFUSAL_STATUS=value,
    )
    assert response.status_code == 421


def test_the_refusal_header_never_turns_an_allow_into_a_refusal(client, guarded, pki):
    response = ask(client, cert=escaped(pki.leaf), HTTP_X_ACCESSCTL_REFUSAL_STATUS="403")
    assert response.status_code == 200


@pytest.mark.urls("tests.gateway.urls_without_forward_auth")
def test_the_middleware_answers_forward_auth_before_any_url_is_resolved(client, guarded, pki):
    # No route for the endpoint in this URLconf: the answer can only come from the middleware,
    # ahead of the dashboard's middleware and URL resolution.
    assert ask(client, cert=escaped(pki.leaf)).status_code == 200
    assert ask(client).status_code == 403
