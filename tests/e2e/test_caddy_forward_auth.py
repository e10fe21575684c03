"""deploy/caddy/forward-auth.Caddyfile: Caddy's `forward_auth` to accessctl guards the plain
static upstream for static.localhost, as nginx's auth_request variant does (without the
session cookie: Caddy does not hand an allowed answer's Set-Cookie to the client)."""

from __future__ import annotations

import base64

from tests.e2e.stack import STATIC, STATIC_BODY, Response, Stack


def _get(
    stack: Stack, port: int, path: str = "/index.html", *, client: str | None = None,
    headers: tuple[str, ...] = (),
) -> Response:  # fmt: skip
    return stack.https(STATIC, path, port=port, client=client, headers=headers)


def test_a_request_without_a_certificate_never_reaches_the_upstream(
    stack: Stack, caddy_forward_auth_port: int
) -> None:
    response = _get(stack, caddy_forward_auth_port)
    assert response.status == 403
    assert STATIC_BODY not in response.body


def test_a_valid_certificate_reaches_the_upstream(
    stack: Stack, caddy_forward_auth_port: int
) -> None:
    response = _get(stack, caddy_forward_auth_port, client="good")
    assert response.status == 200, stack.logs()
    assert response.body == STATIC_BODY


def test_certificates_accessctl_refuses_are_refused(
    stack: Stack, caddy_forward_auth_port: int
) -> None:
    for client in ("other-ca", "expired"):
        response = _get(stack, caddy_forward_auth_port, client=client)
        assert response.status == 403, client
        assert STATIC_BODY not in response.body


def test_a_client_sending_its_own_certificate_header_is_refused(
    stack: Stack, caddy_forward_auth_port: int
) -> None:
    good = stack.clients["good"].issued.der
    forged = f"X-SSL-Client-Cert-Der: {base64.b64encode(good).decode()}"
    assert _get(stack, caddy_forward_auth_port, headers=(forged,)).status == 403


def test_the_upstream_receives_the_session_token_and_never_a_clients_own(
    stack: Stack, caddy_forward_auth_port: int
) -> None:
    forged = "Cf-Access-Jwt-Assertion: forged"
    with_certificate = _get(stack, caddy_forward_auth_port, "/token", client="good",
                            headers=(forged,))  # fmt: skip
    assert with_certificate.status == 200
    token = with_certificate.body.strip().removeprefix("token=")
    assert token.count(".") == 2 and token != "forged"


def test_another_host_header_cannot_skip_the_guard(
    stack: Stack, caddy_forward_auth_port: int
) -> None:
    for host in ("valid.localhost", "localhost", "unguarded.localhost"):
        response = _get(stack, caddy_forward_auth_port, headers=(f"Host: {host}",))
        # Caddy itself: with client_auth on, a Host other than the SNI is misdirected.
        assert response.status == 421, (host, response.status)
        assert STATIC_BODY not in response.body, host
