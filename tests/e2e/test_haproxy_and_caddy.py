"""The shipped HAProxy and Caddy configurations (deploy/haproxy, deploy/caddy) in front of a
gunicorn reading base64 DER (ACCESSCTL_CLIENT_CERT_FORMAT=der-base64): the same refusals and
the same session as behind nginx, on valid.localhost (CA A, Valid Certificate)."""

from __future__ import annotations

import base64

import pytest

from tests.e2e.stack import VALID, Response, Stack


@pytest.fixture(params=["haproxy", "caddy"])
def terminator_port(request: pytest.FixtureRequest) -> int:
    return int(request.getfixturevalue(f"{request.param}_port"))


def _get(
    stack: Stack,
    port: int,
    *,
    client: str | None = None,
    cookie: str | None = None,
    headers: tuple[str, ...] = (),
) -> Response:
    return stack.https(VALID, port=port, client=client, cookie=cookie, headers=headers)


def test_a_request_without_a_certificate_is_refused(stack: Stack, terminator_port: int) -> None:
    assert _get(stack, terminator_port).status == 403


def test_a_valid_certificate_is_let_in_with_a_session_cookie_that_works_alone(
    stack: Stack, terminator_port: int
) -> None:
    response = _get(stack, terminator_port, client="good")

    assert response.status == 200, stack.logs()
    token = response.cookie_value("CF_Authorization")
    assert token
    assert _get(stack, terminator_port, cookie=token).status == 200


def test_certificates_accessctl_refuses_are_refused(stack: Stack, terminator_port: int) -> None:
    for client in ("other-ca", "expired"):
        assert _get(stack, terminator_port, client=client).status == 403, client


def test_a_client_sending_its_own_der_header_is_refused(stack: Stack, terminator_port: int) -> None:
    der = base64.b64encode(stack.clients["good"].issued.der).decode()

    for name in ("X-SSL-Client-Cert-Der", "X_SSL_Client_Cert_Der"):
        assert _get(stack, terminator_port, headers=(f"{name}: {der}",)).status == 403, name
