"""Requests go to the application of the most specific domain that covers them, as in
Cloudflare: each application's own policies decide, its own sessions apply, and a path no
enforced application covers passes unchecked."""

from __future__ import annotations

import jwt
import pytest

from apps.gateway.config import bump_version
from apps.policies.models import Application
from apps.policies.services import application_create, policy_create
from apps.tokens import sessions
from tests.factories import certs
from tests.factories.forwarded import ask, escaped, fetch
from tests.factories.hosts import HOST
from tests.factories.policies import VALID_CERTIFICATE
from tests.factories.trust import upload_ca

pytestmark = pytest.mark.django_db
# The stand-in application behind the middleware: it echoes what the request was let in with.
ECHO = pytest.mark.urls("tests.tokens.urls")


@pytest.fixture(autouse=True)
def _every_test_starts_with_a_fresh_gateway(fresh_gateway):
    """No snapshot and an empty verification cache (tests/conftest.py)."""


@pytest.fixture
def site(root_ca):
    """HOST: the whole hostname for any valid certificate; /api for device-7 only; /open an
    application without an enabled policy."""
    upload_ca("Fleet", [HOST], root_ca)
    whole = application_create(name="Site", domains=[HOST])
    api = application_create(name="API", domains=[f"{HOST}/api"])
    open_ = application_create(name="Open", domains=[f"{HOST}/open"])
    policy_create(
        application=whole, name="devices", decision="non_identity", rules=VALID_CERTIFICATE
    )
    policy_create(
        application=api,
        name="device 7",
        decision="non_identity",
        rules=[("include", "common_name", "device-7")],
    )
    policy_create(
        application=open_,
        name="off",
        decision="non_identity",
        rules=VALID_CERTIFICATE,
        enabled=False,
    )
    return {"whole": whole, "api": api}


@pytest.fixture(scope="module")
def device_7(root_ca):
    return escaped(certs.make_leaf(root_ca, "device-7"))


@pytest.fixture(scope="module")
def device_8(root_ca):
    return escaped(certs.make_leaf(root_ca, "device-8"))


@ECHO
@pytest.mark.parametrize(
    ("path", "device", "status", "reason", "application"),
    [
        ("/", "device_8", 200, "policy_allow", "Site"),
        ("/docs/x", "device_8", 200, "policy_allow", "Site"),
        ("/apix", "device_8", 200, "policy_allow", "Site"),  # not under /api
        ("/api", "device_8", 403, "no_matching_policy", "API"),  # the most specific decides
        ("/api/v1/x", "device_8", 403, "no_matching_policy", "API"),
        ("/api/v1/x", "device_7", 200, "policy_allow", "API"),
        ("/docs/../api/x", "device_8", 403, "no_matching_policy", "API"),  # resolved first
        ("/api", None, 403, "certificate_required", "API"),
    ],
)
def test_the_most_specific_application_decides(
    client, site, access_log, request, path, device, status, reason, application
):
    cert = request.getfixturevalue(device) if device else None
    response = fetch(client, path, cert=cert)
    assert response.status_code == status
    assert access_log.last["reason"] == reason
    assert access_log.last["application_name"] == application


@ECHO
def test_a_path_of_an_application_without_an_enabled_policy_passes_unchecked(
    client, site, access_log
):
    response = fetch(client, "/open/anything")
    assert response.status_code == 200
    assert response.json() == {"assertion": None, "reason": None, "identity": None}
    assert access_log.records == []  # not an access decision: nothing enforces it


@ECHO
def test_a_session_belongs_to_its_application(client, site, device_7):
    # A session of the whole site does not let a request into /api, and the reverse.
    client.cookies.clear()
    client.get("/", HTTP_HOST=HOST, REMOTE_ADDR="127.0.0.1", HTTP_X_SSL_CLIENT_CERT=device_7)
    site_token = client.cookies[sessions.COOKIE_NAME].value
    assert client.get("/x", HTTP_HOST=HOST, REMOTE_ADDR="127.0.0.1").status_code == 200
    refused = client.get("/api/x", HTTP_HOST=HOST, REMOTE_ADDR="127.0.0.1")
    assert refused.status_code == 403
    client.cookies.clear()
    client.get("/api/x", HTTP_HOST=HOST, REMOTE_ADDR="127.0.0.1", HTTP_X_SSL_CLIENT_CERT=device_7)
    api_token = client.cookies[sessions.COOKIE_NAME].value
    assert api_token != site_token
    claims = {name: Application.objects.get(name=name).aud for name in ("Site", "API")}
    assert jwt.decode(api_token, options={"verify_signature": False})["aud"] == [claims["API"]]
    assert jwt.decode(site_token, options={"verify_signature": False})["aud"] == [claims["Site"]]


def test_forward_auth_lets_an_uncovered_path_through_but_refuses_an_unguarded_hostname(
    client, site, access_log
):
    assert ask(client, HTTP_X_ORIGINAL_URI="/open/x").status_code == 200
    refused = ask(client, host="nothing.example.com", HTTP_X_ORIGINAL_URI="/")
    assert refused.status_code == 403
    assert access_log.last["reason"] == "forward_auth_unguarded"


@ECHO
def test_a_disabled_application_gives_its_paths_to_the_next_most_specific(
    client, site, device_8, access_log
):
    Application.objects.filter(name="API").update(enabled=False)
    bump_version()
    assert fetch(client, "/api/x", cert=device_8).status_code == 200
    assert access_log.last["application_name"] == "Site"
