"""What a refused client sees (a page or JSON with a request id, no reason), and the one
structured log line per decision."""

from __future__ import annotations

import json

import pytest
from django.http import HttpResponseRedirect, StreamingHttpResponse

from accessctl.core.reasons import Reason
from accessctl.core.request import Ruling, Verdict
from apps.gateway.responses import framed, refusal
from tests.factories import certs
from tests.factories.forwarded import ask, escaped, fetch
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db


def test_a_browser_gets_a_small_403_page_without_the_reason(client, guarded, access_log):
    response = fetch(client, accept="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert b"Access denied" in response.content
    assert response["X-Request-Id"].encode() in response.content
    assert access_log.last["reason"].encode() not in response.content
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda client, pki: fetch(client, accept="text/html"), id="refusal page"),
        pytest.param(lambda client, pki: fetch(client, accept="application/json"), id="json"),
        pytest.param(lambda client, pki: ask(client), id="forward-auth refusal"),
        pytest.param(lambda client, pki: ask(client, cert=escaped(pki.leaf)), id="forward-auth"),
        pytest.param(lambda client, pki: client.get("/_accessctl/healthz"), id="health probe"),
        pytest.param(lambda client, pki: client.get("/_accessctl/readyz"), id="readiness"),
    ],
)
def test_what_the_middleware_answers_itself_carries_its_length(client, guarded, pki, answer):
    # It answers before CommonMiddleware: without its own Content-Length, gunicorn would send
    # the body chunked (tests/e2e/test_nginx_enforces_certificates.py shows it through gunicorn).
    response = answer(client, pki)
    assert response["Content-Length"] == str(len(response.content))


def test_a_head_request_is_told_the_length_of_what_a_get_would_get(client, guarded):
    head = client.head("/_accessctl/healthz")
    assert head.content == b""
    assert head["Content-Length"] == str(len(client.get("/_accessctl/healthz").content))


def test_framing_gives_a_redirect_its_length_and_leaves_a_stream_alone():
    redirect = framed(HttpResponseRedirect("https://auth.example.com/cdn-cgi/access/login/x"))
    assert redirect["Content-Length"] == str(len(redirect.content))
    stream = framed(StreamingHttpResponse(iter([b"a", b"b"])))
    assert not stream.has_header("Content-Length")


def test_an_api_client_gets_json_with_the_request_id(client, guarded, access_log):
    response = fetch(client, accept="application/json")
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden", "request_id": access_log.last["request_id"]}


def test_a_request_id_from_the_trusted_proxy_is_kept(client, guarded, access_log):
    response = fetch(client, HTTP_X_REQUEST_ID="nginx-1234abcd")
    assert response["X-Request-Id"] == "nginx-1234abcd"
    assert access_log.last["request_id"] == "nginx-1234abcd"
    spoofed = fetch(client, remote="203.0.113.9", HTTP_X_REQUEST_ID="nginx-1234abcd")
    assert spoofed["X-Request-Id"] != "nginx-1234abcd"


def test_every_decision_is_one_json_line_with_the_certificate_facts(
    client, guarded, pki, access_log
):
    fetch(client, cert=escaped(pki.leaf), path="/x", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert len(access_log.records) == 1
    line = access_log.last
    assert line["decision"] == "allow"
    assert line["hostname"] == HOST
    assert line["path"] == "/x"
    assert line["client_ip"] == "198.51.100.7"
    assert line["peer"] == "127.0.0.1"
    assert line["policy_id"] == guarded.pk
    assert line["policy_name"] == "devices"
    assert line["cert_fingerprint_sha256"] == pki.leaf.fingerprint
    assert line["cert_issuer"] == pki.inter.cert.subject.rfc4514_string()
    assert line["cert_serial"] == format(pki.leaf.cert.serial_number, "x")
    assert line["cert_common_name"] == "device-1"
    assert line["cert_verified"] is True
    assert {"time", "request_id", "reason"} <= set(line)


def test_a_refused_certificate_is_logged_with_its_facts_as_unverified(client, guarded, access_log):
    stranger = certs.make_leaf(certs.make_ca("Stranger"), "mallory")
    fetch(client, cert=escaped(stranger))
    assert access_log.last["decision"] == "deny"
    assert access_log.last["reason"] == "chain_untrusted"
    assert access_log.last["cert_common_name"] == "mallory"
    assert access_log.last["cert_verified"] is False


def test_the_log_line_is_json_on_one_line_whatever_the_name(client, guarded, pki, caplog):
    evil = certs.make_leaf(pki.inter, 'x"\n{"decision": "allow"}')
    fetch(client, cert=escaped(evil))
    lines = [r.getMessage() for r in caplog.records if r.name == "accessctl.access"]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert json.loads(lines[0])["cert_common_name"] is None  # control characters: no CN


def test_the_log_never_holds_a_token_or_cookie(client, guarded, pki, access_log):
    client.cookies["CF_Authorization"] = "eyJhbGciOiJFUzI1NiJ9.secret.token"
    client.get("/", HTTP_HOST=HOST, REMOTE_ADDR="127.0.0.1")
    assert "eyJ" not in json.dumps(access_log.records)


def test_dashboard_and_unguarded_requests_are_not_access_decisions(client, guarded, access_log):
    fetch(client, host="localhost")
    fetch(client, host="unguarded.example.com")
    assert access_log.records == []


def test_bypass_decisions_are_logged_as_bypass(client, pki, access_log, db):
    upload_ca("Fleet", [HOST], pki.root, pki.inter)
    add_policy(name="health", decision="bypass", path_prefix="/health")
    add_policy(name="devices", order=2)
    response = fetch(client, path="/health", cert=escaped(pki.leaf))
    assert response.status_code == 404  # let through to the URLs, where no view is mapped
    assert access_log.last["decision"] == "bypass"
    assert access_log.last["policy_name"] == "health"


def test_each_refused_page_shows_its_own_request_id(client, guarded):
    first = fetch(client, HTTP_X_REQUEST_ID="first-request")
    second = fetch(client, HTTP_X_REQUEST_ID="second-request")
    assert b"first-request" in first.content and b"second-request" not in first.content
    assert b"second-request" in second.content and b"first-request" not in second.content


def test_the_request_id_is_escaped_on_the_pre_rendered_page(rf):
    # The gateway only keeps a proxy's id made of safe characters; the page escapes anyway.
    ruling = Ruling(Verdict.DENY, Reason.NO_CERTIFICATE, "<b>id</b>")
    response = refusal(rf.get("/", HTTP_ACCEPT="text/html"), ruling)
    assert b"<b>id</b>" not in response.content
    assert b"&lt;b&gt;id&lt;/b&gt;" in response.content
