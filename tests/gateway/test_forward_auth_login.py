"""Forward-auth sends a browser that must log in to the login page, as the middleware does:
302 to /cdn-cgi/access/login/<hostname> on the authentication hostname, coming back to the URL
the proxy reports (X-Original-URL, or X-Forwarded-Host and X-Forwarded-Uri), only on the
hostname decided. A script gets 401."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import certs
from tests.factories.forwarded import ask, escaped
from tests.factories.hosts import ATTACKER, HOST
from tests.factories.identity import add_identity_policy

pytestmark = pytest.mark.django_db

AUTH = "auth.example.com"
LOGIN = f"/cdn-cgi/access/login/{HOST}"
BROWSER = "text/html,application/xhtml+xml,*/*;q=0.8"


@pytest.fixture
def second_layer(bound, settings):
    """HOST: Allow — Include: Emails ending in @example.com — Require: Valid Certificate."""
    settings.ACCESSCTL_AUTH_HOSTNAME = AUTH
    return add_identity_policy()


@pytest.fixture
def device(root_ca):
    """A client certificate under the test root, which ``bound`` trusts for HOST."""
    return certs.make_leaf(root_ca, "laptop-ada")


def _back_to(location: str) -> str:
    """The redirect_url a login page Location asks to come back to."""
    return parse_qs(urlsplit(location).query)["redirect_url"][0]


def test_a_browser_is_sent_to_the_login_page_and_back_to_nginxs_x_original_url(
    client, second_layer, device, access_log
):
    response = ask(
        client,
        accept=BROWSER,
        cert=escaped(device),
        HTTP_X_ORIGINAL_URI="/reports?q=1",
        HTTP_X_ORIGINAL_URL=f"https://{HOST}:8443/reports?q=1",
    )

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"https://{AUTH}:8443{LOGIN}?")
    assert _back_to(location) == f"https://{HOST}:8443/reports?q=1"
    assert response["X-Accessctl-Status"] == "302"
    assert access_log.last["reason"] == "identity_required"


def test_nginx_gets_the_redirect_as_403_with_its_status_and_location_in_headers(
    client, second_layer
):
    response = ask(
        client,
        accept=BROWSER,
        HTTP_X_ORIGINAL_URL=f"https://{HOST}/",
        HTTP_X_ACCESSCTL_REFUSAL_STATUS="403",
    )

    assert response.status_code == 403
    assert response["X-Accessctl-Status"] == "302"
    assert response["Location"].startswith(f"https://{AUTH}{LOGIN}?")


def test_traefik_and_caddy_describe_the_url_with_x_forwarded_headers(client, second_layer):
    response = ask(
        client,
        host="auth.example.com",
        accept=BROWSER,
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_HOST=HOST,
        HTTP_X_FORWARDED_URI="/reports",
    )

    assert response.status_code == 302
    assert _back_to(response["Location"]) == f"https://{HOST}/reports"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.net/reports",
        f"https://{HOST}@evil.example.net/",
        f"https://{HOST}\\@evil.example.net/",
        f"javascript://{HOST}/%0aalert(1)",
        "/reports",
    ],
)
def test_a_url_on_another_hostname_leads_back_to_the_decided_hostnames_root(
    client, second_layer, url
):
    response = ask(client, accept=BROWSER, HTTP_X_FORWARDED_PROTO="https", HTTP_X_ORIGINAL_URL=url)

    assert response.status_code == 302
    assert response["Location"].startswith(f"https://{AUTH}{LOGIN}?")
    assert _back_to(response["Location"]) == f"https://{HOST}/"


def test_the_original_url_of_an_untrusted_peer_is_ignored(client, second_layer):
    response = ask(
        client,
        remote=ATTACKER,
        accept=BROWSER,
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_ORIGINAL_URL=f"https://{HOST}:8443/reports",
    )

    assert response.status_code == 302
    assert _back_to(response["Location"]) == f"https://{HOST}/"


@pytest.mark.parametrize(
    "headers",
    [
        {"accept": "application/json"},
        {"accept": BROWSER, "HTTP_X_REQUESTED_WITH": "XMLHttpRequest"},
    ],
)
def test_a_script_gets_401_and_no_redirect(client, second_layer, headers):
    response = ask(client, HTTP_X_ORIGINAL_URL=f"https://{HOST}/", **headers)

    assert response.status_code == 401
    assert "Location" not in response


def test_without_an_authentication_hostname_a_browser_gets_the_403(client, second_layer, settings):
    settings.ACCESSCTL_AUTH_HOSTNAME = ""
    settings.ACCESSCTL_DASHBOARD_HOSTS = []

    response = ask(client, accept=BROWSER, HTTP_X_ORIGINAL_URL=f"https://{HOST}/")

    assert response.status_code == 403
    assert "Location" not in response
