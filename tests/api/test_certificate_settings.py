"""accounts/{id}/access/certificates/settings, and client-certificate forwarding at the origin:
Cf-Client-Cert-Der-Base64 and Cf-Client-Cert-Sha256 for the verified certificate when the
hostname's setting is on, never a client's own copy."""

from __future__ import annotations

import base64

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from apps.gateway import client_certificate
from apps.trust.models import HostnameSetting
from tests.factories.api import ApiClient
from tests.factories.forwarded import ask, escaped, fetch
from tests.factories.hosts import HOST
from tests.factories.policies import add_policy
from tests.factories.trust import upload_ca

OTHER_HOST = "api.example.com"


@pytest.fixture
def guarded(db, root_ca):
    upload_ca("Fleet", [HOST, OTHER_HOST], root_ca)
    return add_policy()


def at_origin(response) -> dict[str, str]:
    """What the echoing origin (tests/api/origin_urls.py) received."""
    assert response.status_code == 200, response.content[:200]
    return response.json()


def forwarding(api: ApiClient, hostname: str, on: bool = True):
    return api.put(
        "access/certificates/settings",
        {
            "settings": [
                {"hostname": hostname, "china_network": False, "client_certificate_forwarding": on}
            ]
        },
    )


def test_every_associated_hostname_is_listed_with_its_settings(api: ApiClient, guarded) -> None:
    assert api.get("access/certificates/settings").result == [
        {"hostname": h, "china_network": False, "client_certificate_forwarding": False}
        for h in sorted([HOST, OTHER_HOST])
    ]


def test_a_put_stores_the_settings_and_replaces_the_list(api: ApiClient, guarded) -> None:
    answer = api.put(
        "access/certificates/settings",
        {
            "settings": [
                {"hostname": HOST, "china_network": True, "client_certificate_forwarding": True}
            ]
        },
    )

    assert answer.result[1] == {
        "hostname": HOST,
        "china_network": True,
        "client_certificate_forwarding": True,
    }
    forwarding(api, OTHER_HOST)
    assert set(HostnameSetting.objects.values_list("hostname", flat=True)) == {OTHER_HOST}


def test_a_hostname_no_certificate_is_associated_with_is_refused(api: ApiClient, guarded) -> None:
    answer = forwarding(api, "elsewhere.example.com")

    assert answer.status == 400
    assert "not associated" in answer.messages[0]
    assert not HostnameSetting.objects.exists()


@pytest.mark.urls("tests.api.origin_urls")
def test_with_forwarding_on_the_origin_receives_the_verified_certificate(
    api: ApiClient, guarded, device
) -> None:
    forwarding(api, HOST)

    origin = at_origin(fetch(Client(), cert=escaped(device)))

    der_b64 = origin[client_certificate.CLIENT_COPIES[0]]
    assert base64.b64decode(der_b64) == device.der
    assert origin[client_certificate.CLIENT_COPIES[1]] == device.fingerprint


@pytest.mark.urls("tests.api.origin_urls")
def test_with_forwarding_off_the_origin_receives_neither_header_not_even_the_clients(
    guarded, device
) -> None:
    response = fetch(
        Client(),
        cert=escaped(device),
        HTTP_CF_CLIENT_CERT_DER_BASE64="Zm9yZ2Vk",
        HTTP_CF_CLIENT_CERT_SHA256="00" * 32,
    )

    assert at_origin(response) == dict.fromkeys(client_certificate.CLIENT_COPIES, "")


@pytest.mark.urls("tests.api.origin_urls")
def test_with_forwarding_on_a_clients_own_copy_is_replaced(api: ApiClient, guarded, device) -> None:
    forwarding(api, HOST)

    origin = at_origin(fetch(Client(), cert=escaped(device), HTTP_CF_CLIENT_CERT_SHA256="00" * 32))

    assert origin[client_certificate.CLIENT_COPIES[1]] == device.fingerprint


def test_forward_auth_answers_the_headers_for_the_proxy_to_pass_on(
    api: ApiClient, guarded, device
) -> None:
    forwarding(api, HOST)

    response = ask(Client(), cert=escaped(device), HTTP_X_ORIGINAL_URI="/")

    assert response.status_code == 200
    assert base64.b64decode(response[client_certificate.DER_HEADER]) == device.der
    assert response[client_certificate.SHA256_HEADER] == device.fingerprint


def test_forward_auth_sends_nothing_of_the_kind_when_forwarding_is_off(
    api: ApiClient, guarded, device
) -> None:
    response = ask(Client(), cert=escaped(device), HTTP_X_ORIGINAL_URI="/")

    assert client_certificate.DER_HEADER not in response


def history_of(hostname: str) -> list[tuple[int, str, str]]:
    kind = ContentType.objects.get_for_model(HostnameSetting)
    return [
        (e.action_flag, e.user.username, e.change_message)
        for e in LogEntry.objects.filter(content_type=kind, object_repr=hostname).order_by("pk")
    ]


def test_every_change_of_a_put_is_in_the_history_naming_the_token(api: ApiClient, guarded) -> None:
    forwarding(api, HOST)
    forwarding(api, HOST)  # no change: no entry
    api.put(
        "access/certificates/settings",
        {
            "settings": [
                {"hostname": HOST, "china_network": True, "client_certificate_forwarding": True}
            ]
        },
    )
    forwarding(api, OTHER_HOST)  # HOST left out: reset to both off

    assert [(flag, user) for flag, user, _ in history_of(HOST)] == [
        (ADDITION, "api-token:edit"),
        (CHANGE, "api-token:edit"),
        (DELETION, "api-token:edit"),
    ]
    reset = history_of(HOST)[-1][2]
    assert "client_certificate_forwarding=False china_network=False" in reset
    assert "left out of the list" in reset and "'edit'" in reset
    assert [flag for flag, _, _ in history_of(OTHER_HOST)] == [ADDITION]
