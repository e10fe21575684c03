"""/cdn-cgi/access/certs, /logout and /get-identity."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from cryptography import x509

from accessctl.core.identity import identity_of
from accessctl.core.policy import Outcome
from apps.tokens import sessions
from tests.factories import certs as certfactory
from tests.factories.snapshots import application_of, host_config

pytestmark = pytest.mark.django_db
HOST = "app.localhost"


def issue(host, leaf, session_seconds=3600) -> str:
    application = application_of(host)
    outcome = Outcome(True, application.policies[0], session_seconds, "policy_allow")
    issued = sessions.session_issue(
        application=application, identity=identity_of(leaf.cert), outcome=outcome
    )
    assert issued is not None
    return issued.token


def test_the_jwks_verifies_a_token_with_plain_pyjwt(client, root_ca):
    host = host_config(root=root_ca)
    leaf = certfactory.make_leaf(root_ca, "device-7")
    token = issue(host, leaf)
    response = client.get("/cdn-cgi/access/certs", HTTP_HOST=HOST)
    assert response.status_code == 200
    jwks = jwt.PyJWKSet.from_dict(response.json())
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(
        token,
        jwks[kid],
        algorithms=["RS256"],
        audience=application_of(host).audience,
        issuer=sessions.token_issuer(),
    )
    assert claims["sub"] == leaf.fingerprint
    assert claims["common_name"] == "device-7"


def test_the_public_cert_holds_the_key_that_signs_the_tokens(client, root_ca):
    # Origins that verify with the PEM certificate (as many Cloudflare guides do) rather than
    # the JWK must get the very key that signs: a stale or mismatched certificate fails them.
    host = host_config(root=root_ca)
    token = issue(host, certfactory.make_leaf(root_ca, "device-7"))
    body = client.get("/cdn-cgi/access/certs", HTTP_HOST=HOST).json()
    kid = jwt.get_unverified_header(token)["kid"]
    assert body["public_cert"]["kid"] == kid
    published = x509.load_pem_x509_certificate(body["public_cert"]["cert"].encode())
    claims = jwt.decode(
        token,
        published.public_key(),
        algorithms=["RS256"],
        audience=application_of(host).audience,
        issuer=sessions.token_issuer(),
    )
    assert claims["common_name"] == "device-7"


def test_the_jwks_may_be_cached_briefly_and_holds_no_private_key(client):
    response = client.get("/cdn-cgi/access/certs", HTTP_HOST=HOST)
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["keys"] and all("d" not in key for key in body["keys"])
    assert {"kid", "alg", "use", "kty", "n", "e"} <= set(body["keys"][0])
    assert (body["keys"][0]["kty"], body["keys"][0]["alg"]) == ("RSA", "RS256")
    assert body["keys"][0]["use"] == "sig"
    assert all(not {"p", "q", "dp", "dq", "qi"} & set(key) for key in body["keys"])
    assert body["public_cert"] == body["public_certs"][0]
    assert b"PRIVATE" not in response.content


def test_the_jwks_answers_only_reads(client):
    assert client.post("/cdn-cgi/access/certs", HTTP_HOST=HOST).status_code == 405
    assert client.head("/cdn-cgi/access/certs", HTTP_HOST=HOST).status_code == 200


def test_logout_clears_the_cookie_with_the_same_attributes(client):
    client.cookies[sessions.COOKIE_NAME] = "anything"
    response = client.get("/cdn-cgi/access/logout", HTTP_HOST=HOST)
    assert response.status_code == 200
    assert response.json() == {"logged_out": True}
    cookie = response.cookies[sessions.COOKIE_NAME]
    assert cookie.value == ""
    assert cookie["max-age"] == 0
    assert cookie["path"] == "/"
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["domain"] == ""


def test_get_identity_without_a_session_is_401(client, install_snapshot):
    install_snapshot(host_config())
    response = client.get("/cdn-cgi/access/get-identity", HTTP_HOST=HOST)
    assert response.status_code == 401
    assert response.json() == {"error": "no_session"}


def test_get_identity_returns_the_session_identity(client, install_snapshot, root_ca):
    host = host_config(root=root_ca)
    install_snapshot(host)
    leaf = certfactory.make_leaf(root_ca, "device-7")
    client.cookies[sessions.COOKIE_NAME] = issue(host, leaf, 900)
    response = client.get("/cdn-cgi/access/get-identity", HTTP_HOST=HOST)
    assert response.status_code == 200
    body = response.json()
    assert body["common_name"] == "device-7"
    assert body["fingerprint_sha256"] == leaf.fingerprint
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert (
        dt.timedelta(seconds=890) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(seconds=900)
    )
    assert response["Cache-Control"].startswith("max-age=0")


def test_get_identity_with_an_invalid_token_is_401_and_clears_the_cookie(
    client, install_snapshot, root_ca
):
    host = host_config(root=root_ca)
    install_snapshot(host)
    client.cookies[sessions.COOKIE_NAME] = issue(host, certfactory.make_leaf(root_ca))[:-4] + "AAAA"
    response = client.get("/cdn-cgi/access/get-identity", HTTP_HOST=HOST)
    assert response.status_code == 401
    assert response.json() == {"error": "token_bad_signature"}
    assert response.cookies[sessions.COOKIE_NAME]["max-age"] == 0


def test_get_identity_refuses_a_session_of_another_hostname(client, install_snapshot, root_ca):
    host_a = host_config("a.localhost", audience="aud-a", root=root_ca)
    host_b = host_config("b.localhost", audience="aud-b", root=root_ca)
    install_snapshot(host_a, host_b)
    client.cookies[sessions.COOKIE_NAME] = issue(host_a, certfactory.make_leaf(root_ca))
    assert client.get("/cdn-cgi/access/get-identity", HTTP_HOST="a.localhost").status_code == 200
    response = client.get("/cdn-cgi/access/get-identity", HTTP_HOST="b.localhost")
    assert response.status_code == 401
    assert response.json() == {"error": "token_wrong_audience"}
