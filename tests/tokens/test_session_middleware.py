"""Sessions through the access middleware: the CF_Authorization cookie and the assertion header.

Issuing, reuse, refusals, no duration and Bypass, with the Django test client against a stand-in
application (tests/tokens/urls.py) that echoes the ``Cf-Access-Jwt-Assertion`` it received.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import urllib.parse

import jwt
import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.test import override_settings

from accessctl.core import tokens
from apps.tokens import keys, sessions
from tests.factories import certs as certfactory
from tests.factories.snapshots import application_of, host_config

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.tokens.urls")]
HOST = "app.localhost"
COOKIE = sessions.COOKIE_NAME


@pytest.fixture
def root():
    return certfactory.make_ca("Session Test Root")


@pytest.fixture
def leaf(root):
    return certfactory.make_leaf(root, "device-7")


@pytest.fixture
def guarded(install_snapshot, root):
    def install(session_seconds: int = 3600, **kwargs):
        host = host_config(HOST, session_seconds=session_seconds, root=root, **kwargs)
        install_snapshot(host)
        return host

    return install


def get(client, path="/", *, cert=None, host=HOST, **extra):
    headers = {"HTTP_HOST": host, "REMOTE_ADDR": "127.0.0.1", **extra}
    if cert is not None:
        headers["HTTP_X_SSL_CLIENT_CERT"] = urllib.parse.quote(cert.pem)
    return client.get(path, **headers)


def login(client, leaf) -> str:
    response = get(client, cert=leaf)
    assert response.status_code == 200
    return response.cookies[COOKIE].value


def resign(token: str, **changes) -> str:
    """The token with changed claims, signed again by this process's current key."""
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(changes)
    for name in [k for k, v in changes.items() if v is None]:
        del claims[name]
    key = keys.key_ring().signing_key()
    return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- Issuing --------------------------------------------------------------------------------


def test_an_allowed_certificate_gets_a_session_cookie_with_safe_flags(client, guarded, leaf):
    guarded(session_seconds=6 * 3600)
    response = get(client, cert=leaf)
    assert response.status_code == 200
    cookie = response.cookies[COOKIE]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["domain"] == ""  # host-only
    assert cookie["path"] == "/"
    assert cookie["max-age"] == 6 * 3600


def test_the_application_receives_the_same_token_as_the_cookie(client, guarded, leaf):
    guarded()
    response = get(client, cert=leaf)
    assert response.json()["assertion"] == response.cookies[COOKIE].value


def test_no_log_line_holds_the_token_it_issued_or_accepted(client, guarded, leaf, caplog):
    guarded()
    with caplog.at_level(logging.DEBUG):
        token = login(client, leaf)
        assert get(client).status_code == 200  # the cookie alone: the token is verified
        tampered = token[:-4] + ("BBBB" if token.endswith("AAAA") else "AAAA")
        client.cookies[COOKIE] = tampered
        assert get(client).status_code == 403  # and a refused one
    assert any(r.name == "accessctl.access" for r in caplog.records)
    signature = token.rsplit(".", 1)[1]
    assert token not in caplog.text and signature not in caplog.text
    assert tampered.rsplit(".", 1)[1] not in caplog.text


def test_a_client_sent_assertion_never_reaches_the_application(client, guarded, leaf):
    guarded()
    forged = get(client, HTTP_CF_ACCESS_JWT_ASSERTION="forged")
    assert forged.status_code == 403
    response = get(client, cert=leaf, HTTP_CF_ACCESS_JWT_ASSERTION="forged")
    assert response.json()["assertion"] not in {None, "forged"}


def test_the_token_holds_the_hostname_audience_and_the_certificate(client, guarded, leaf):
    host = guarded()
    claims = jwt.decode(login(client, leaf), options={"verify_signature": False})
    assert claims["aud"] == [application_of(host).audience]
    assert claims["sub"] == leaf.fingerprint
    assert claims["common_name"] == "device-7"
    assert claims["epoch"] == application_of(host).epoch
    assert claims["cnf"]["x5t#S256"] == b64(bytes.fromhex(leaf.fingerprint))
    assert claims["iss"] == sessions.token_issuer()


@pytest.mark.parametrize(
    "session_seconds", [900, 1800, 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400]
)
def test_each_session_duration_sets_exp_and_max_age(client, guarded, root, session_seconds):
    guarded(session_seconds=session_seconds)
    long_lived = certfactory.make_leaf(root, not_after=certfactory.now() + dt.timedelta(days=90))
    response = get(client, cert=long_lived)
    claims = jwt.decode(response.cookies[COOKIE].value, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == session_seconds
    assert response.cookies[COOKIE]["max-age"] == session_seconds


@override_settings(ACCESSCTL_TOKEN_ISSUER="https://access.example.com")
def test_the_issuer_comes_from_the_setting(client, guarded, leaf):
    guarded()
    claims = jwt.decode(login(client, leaf), options={"verify_signature": False})
    assert claims["iss"] == "https://access.example.com"


def test_the_cookie_stays_under_4096_bytes_with_a_long_dn(client, guarded, root):
    guarded()
    subject = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "u" * 64) for _ in range(40)]
        + [x509.NameAttribute(NameOID.COMMON_NAME, "\U0001f600" * 16)]
    )
    long_dn = certfactory.make_leaf(
        root, subject=subject, san_dns=tuple(f"h{i}.example" for i in range(50))
    )
    response = get(client, cert=long_dn)
    assert response.status_code == 200
    set_cookie = response.cookies[COOKIE].output(header="").strip()
    assert len(set_cookie.encode()) <= 4096
    assert len(long_dn.cert.subject.rfc4514_string()) > 2600  # the DN itself would not fit


# --- Reuse ----------------------------------------------------------------------------------


def test_a_valid_session_lets_a_request_through_without_a_certificate(client, guarded, leaf):
    guarded()
    token = login(client, leaf)
    response = get(client, "/reports")
    assert response.status_code == 200
    assert response.json()["reason"] == "session"
    assert response.json()["assertion"] == token
    assert COOKIE not in response.cookies  # nothing to renew or clear


def test_the_session_and_the_certificate_that_issued_it_go_together(client, guarded, leaf):
    guarded()
    login(client, leaf)
    assert get(client, cert=leaf).status_code == 200


def test_a_session_presented_with_another_certificate_is_refused(client, guarded, root, leaf):
    guarded()
    login(client, leaf)
    other = certfactory.make_leaf(root, "device-8")
    response = get(client, cert=other)
    assert response.status_code == 403
    assert response.cookies[COOKIE]["max-age"] == 0


def test_a_session_for_host_a_is_refused_on_host_b(client, install_snapshot, root, leaf):
    install_snapshot(
        host_config("a.localhost", audience="aud-a", root=root),
        host_config("b.localhost", audience="aud-b", root=root),
    )
    token = get(client, cert=leaf, host="a.localhost").cookies[COOKIE].value
    client.cookies[COOKIE] = token
    assert get(client, host="a.localhost").status_code == 200
    response = get(client, host="b.localhost")
    assert response.status_code == 403
    assert response.cookies[COOKIE]["max-age"] == 0


# --- Refusals: forged, expired or stale tokens -------------------------------------------


def refused(client, token, **extra):
    client.cookies[COOKIE] = token
    response = get(client, **extra)
    assert response.cookies[COOKIE]["max-age"] == 0, "the bad cookie must be cleared"
    return response.status_code


def _alg_none(client, token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    head = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return head + "." + b64(json.dumps(claims).encode()) + "."


def _hs256_keyed_with_the_public_key(client, token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(token)["kid"]
    jwks = get(client, "/cdn-cgi/access/certs").json()
    public_json = json.dumps(jwks["keys"][0]).encode()
    head = b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(public_json, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def _signed_by_an_unknown_kid(client, token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "not-ours"})


def _a_changed_claim_under_the_old_signature(client, token: str) -> str:
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["common_name"] = "admin"
    return f"{head}.{b64(json.dumps(claims).encode())}.{signature}"


def _without_exp(client, token: str) -> str:
    return resign(token, exp=None)


# Each turns the session token the client just got into a forged one.
FORGERIES = [
    pytest.param(_alg_none, id="alg none"),
    pytest.param(_hs256_keyed_with_the_public_key, id="HS256 keyed with the public key"),
    pytest.param(_signed_by_an_unknown_kid, id="signed under an unknown kid"),
    pytest.param(_a_changed_claim_under_the_old_signature, id="a bad signature"),
    pytest.param(_without_exp, id="no exp"),
]


@pytest.mark.parametrize("forge", FORGERIES)
def test_a_forged_token_is_refused_and_its_cookie_cleared(client, guarded, leaf, forge):
    guarded()
    assert refused(client, forge(client, login(client, leaf))) == 403


def test_an_expired_session_is_refused(client, guarded, leaf):
    guarded(session_seconds=900)
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as traveller:
        token = login(client, leaf)
        traveller.shift(dt.timedelta(seconds=899))
        assert get(client).status_code == 200
        traveller.shift(dt.timedelta(seconds=1))
        assert refused(client, token) == 403


def test_an_expired_session_of_a_script_is_401(client, guarded, leaf):
    guarded()
    token = resign(login(client, leaf), exp=int(dt.datetime.now(dt.UTC).timestamp()) - 1)
    assert refused(client, token, HTTP_X_REQUESTED_WITH="XMLHttpRequest") == 401


def test_a_script_without_any_session_still_gets_403(client, guarded):
    guarded()
    assert get(client, HTTP_X_REQUESTED_WITH="XMLHttpRequest").status_code == 403


def test_an_expired_session_with_a_valid_certificate_is_renewed(client, guarded, leaf):
    guarded()
    client.cookies[COOKIE] = resign(
        login(client, leaf), exp=int(dt.datetime.now(dt.UTC).timestamp()) - 1
    )
    response = get(client, cert=leaf)
    assert response.status_code == 200
    # The token signed at login is handed out again (this worker signed it a moment ago):
    # the cookie lives as long as that token still does.
    assert 3590 <= response.cookies[COOKIE]["max-age"] <= 3600


def test_a_session_signed_by_the_previous_key_survives_a_rotation(
    client, guarded, leaf, token_algorithm
):
    guarded()
    login(client, leaf)
    keys.signing_key_rotate()
    assert get(client).status_code == 200


def test_a_session_signed_by_a_key_past_its_overlap_is_refused(
    client, guarded, leaf, token_algorithm
):
    guarded(session_seconds=30 * 86400)
    long_lived = certfactory.make_leaf(
        leaf.chain[0], not_after=certfactory.now() + dt.timedelta(days=90)
    )
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as traveller:
        token = login(client, long_lived)
        keys.signing_key_rotate(immediately=True)
        traveller.shift(dt.timedelta(days=7) - dt.timedelta(seconds=1))
        assert get(client).status_code == 200
        traveller.shift(dt.timedelta(seconds=1))
        assert refused(client, token) == 403


# --- No duration, Bypass: no session cookie ----------------------------------------------


def test_no_duration_gives_the_application_a_token_but_the_client_no_cookie(client, guarded, leaf):
    guarded(session_seconds=0)
    response = get(client, cert=leaf)
    assert response.status_code == 200
    assert COOKIE not in response.cookies
    assertion = response.json()["assertion"]
    claims = jwt.decode(assertion, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == tokens.REQUEST_TOKEN_SECONDS
    assert get(client).status_code == 403


def test_a_no_duration_token_replayed_as_a_cookie_is_refused(client, guarded, leaf):
    guarded(session_seconds=0)
    assertion = get(client, cert=leaf).json()["assertion"]
    client.cookies[COOKIE] = assertion
    assert get(client).status_code == 403


def test_bypass_issues_no_token(client, install_snapshot, root, leaf):
    from accessctl.core.policy import Decision, Policy, Rule, RuleGroup, RuleType

    bypass = Policy(
        9,
        "Public",
        Decision.BYPASS,
        1,
        (Rule(RuleGroup.INCLUDE, RuleType.VALID_CERTIFICATE),),
        3600,
    )
    install_snapshot(host_config(HOST, root=root, policies=(bypass,)))
    response = get(client, cert=leaf, HTTP_CF_ACCESS_JWT_ASSERTION="forged")
    assert response.status_code == 200
    assert COOKIE not in response.cookies
    assert response.json()["assertion"] is None


# --- Access endpoints on a guarded hostname ----------------------------------------------------


def test_the_access_endpoints_answer_on_a_guarded_hostname_without_a_certificate(
    client, guarded, leaf
):
    guarded()
    assert get(client, "/cdn-cgi/access/certs").status_code == 200
    assert get(client, "/cdn-cgi/access/get-identity").status_code == 401
    login(client, leaf)
    identity = get(client, "/cdn-cgi/access/get-identity")
    assert identity.status_code == 200
    assert identity.json()["common_name"] == "device-7"
    logout = get(client, "/cdn-cgi/access/logout")
    assert logout.status_code == 200
    assert logout.cookies[COOKIE]["max-age"] == 0
    assert get(client).status_code == 403


def test_a_signing_key_that_cannot_be_decrypted_fails_closed_with_503(client, guarded, leaf):
    guarded()
    token = login(client, leaf)
    keys.forget_key_ring()
    with override_settings(ACCESSCTL_KEY_ENCRYPTION_SECRET="a different secret"):
        client.cookies.clear()
        assert get(client, cert=leaf).status_code == 503
        client.cookies[COOKIE] = token
        assert get(client).status_code == 200, "existing sessions still verify"


def test_a_token_too_large_for_a_cookie_goes_to_the_application_only(
    client, guarded, leaf, monkeypatch
):
    guarded()
    monkeypatch.setattr(sessions, "MAX_COOKIE_BYTES", 200)
    response = get(client, cert=leaf)
    assert response.status_code == 200
    assert COOKIE not in response.cookies
    assert response.json()["assertion"]
