"""Through nginx (deploy/nginx/accessctl.conf) over real TLS: the seed's `curl` test and its
refusals. valid.localhost is guarded by CA A with a Non Identity / Valid Certificate policy."""

from __future__ import annotations

import json

from tests.e2e.stack import OTHER, VALID, Stack


def test_a_request_without_a_client_certificate_is_refused(stack: Stack) -> None:
    response = stack.https(VALID)

    assert response.status == 403
    assert "CF_Authorization" not in response.set_cookies()


def test_gunicorn_sends_a_refusal_with_its_length_not_in_chunks(stack: Stack) -> None:
    response = stack.direct(VALID)  # straight to gunicorn: no SNI header, so "misdirected"

    assert response.status == 421
    assert "Misdirected request" in response.body
    assert response.headers["content-length"] == [str(len(response.body.encode()))]
    assert "transfer-encoding" not in response.headers


def test_a_valid_client_certificate_is_let_in_with_a_session_cookie(stack: Stack) -> None:
    response = stack.https(VALID, client="good")

    assert response.status == 200, stack.logs()
    cookie = response.set_cookies().get("CF_Authorization")
    assert cookie is not None
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path"} <= attributes
    assert "domain" not in attributes


def test_the_session_cookie_alone_lets_the_next_request_in(stack: Stack) -> None:
    token = stack.https(VALID, client="good").cookie_value("CF_Authorization")
    assert token

    response = stack.https(VALID, cookie=token)

    assert response.status == 200


def test_a_forged_session_cookie_is_refused(stack: Stack) -> None:
    token = stack.https(VALID, client="good").cookie_value("CF_Authorization")
    assert token
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"

    assert stack.https(VALID, cookie=forged).status == 403


def test_a_certificate_from_a_ca_bound_to_another_hostname_is_refused(stack: Stack) -> None:
    assert stack.https(VALID, client="other-ca").status == 403
    # The same certificate is good where its CA is bound: the refusal is the binding's doing.
    assert stack.https(OTHER, client="other-ca").status == 200


def test_an_expired_certificate_is_refused_by_accessctl_with_403(stack: Stack) -> None:
    # nginx itself would answer 400 for an expired certificate even with optional_no_ca; the
    # shipped configuration hands it to accessctl instead (error_page 495).
    response = stack.https(VALID, client="expired")

    assert response.status == 403
    assert "CF_Authorization" not in response.set_cookies()


def test_the_guarded_page_shows_the_certificate_nginx_forwarded(stack: Stack) -> None:
    response = stack.https(VALID, client="good", headers=("Accept: application/json",))

    assert response.status == 200
    identity = json.loads(response.body)["identity"]
    assert identity["common_name"] == "device-1"
    assert identity["fingerprint_sha256"] == stack.clients["good"].issued.fingerprint
