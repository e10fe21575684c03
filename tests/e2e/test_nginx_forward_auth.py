"""deploy/nginx/forward-auth.conf: nginx `auth_request` to accessctl guards a plain static
upstream (nginx serving a file) for static.localhost, the same way accessctl guards itself."""

from __future__ import annotations

import json

import pytest

from tests.e2e.stack import OTHER, STATIC, STATIC_BODY, VALID, Response, Stack


def _get(
    stack: Stack,
    path: str = "/index.html",
    *,
    client: str | None = None,
    cookie: str | None = None,
    headers: tuple[str, ...] = (),
) -> Response:
    return stack.https(
        STATIC, path, port=stack.forward_auth_port, client=client, cookie=cookie, headers=headers
    )


def test_a_request_without_a_certificate_never_reaches_the_upstream(stack: Stack) -> None:
    response = _get(stack)

    assert response.status == 403
    assert STATIC_BODY not in response.body


def test_a_valid_certificate_reaches_the_upstream_and_gets_a_session_cookie(
    stack: Stack,
) -> None:
    response = _get(stack, client="good")

    assert response.status == 200, stack.logs()
    assert response.body == STATIC_BODY
    assert "CF_Authorization" in response.set_cookies()


def test_the_session_cookie_alone_reaches_the_upstream(stack: Stack) -> None:
    token = _get(stack, client="good").cookie_value("CF_Authorization")
    assert token

    response = _get(stack, cookie=token)

    assert response.status == 200
    assert response.body == STATIC_BODY


def test_a_certificate_from_a_ca_bound_to_another_hostname_is_refused(stack: Stack) -> None:
    assert _get(stack, client="other-ca").status == 403


def test_an_expired_certificate_is_refused(stack: Stack) -> None:
    assert _get(stack, client="expired").status == 403


def test_a_client_sending_its_own_certificate_header_is_refused(stack: Stack) -> None:
    forged = f"X-SSL-Client-Cert: {stack.clients['good'].escaped}"

    assert _get(stack, headers=(forged,)).status == 403


def test_the_upstream_receives_the_session_token_and_never_a_clients_own(stack: Stack) -> None:
    # /token on the static upstream echoes the Cf-Access-Jwt-Assertion header it received.
    response = _get(stack, "/token", client="good", headers=("Cf-Access-Jwt-Assertion: forged",))

    assert response.status == 200
    token = response.body.removeprefix("token=").strip()
    assert token.count(".") == 2
    assert token != "forged"


def test_a_client_cannot_pick_another_hostnames_policy_with_x_forwarded_host(
    stack: Stack,
) -> None:
    # accessctl's forward-auth endpoint prefers X-Forwarded-Host from a trusted proxy; the
    # shipped configuration overwrites the client's copy, so an unguarded name cannot be used.
    for name in ("localhost", "unguarded.localhost"):
        assert _get(stack, headers=(f"X-Forwarded-Host: {name}",)).status == 403


def test_the_access_endpoints_answer_on_the_guarded_hostname(stack: Stack) -> None:
    token = _get(stack, client="good").cookie_value("CF_Authorization")
    assert token

    identity = _get(stack, "/cdn-cgi/access/get-identity", cookie=token)
    logout = _get(stack, "/cdn-cgi/access/logout", cookie=token)

    assert identity.status == 200
    assert json.loads(identity.body)["common_name"] == "device-1"
    assert logout.cookie_value("CF_Authorization") in ("", '""')


def test_the_forward_auth_endpoint_is_not_exposed_by_the_main_site(stack: Stack) -> None:
    # deploy/nginx/accessctl.conf: clients never reach /_accessctl/ (an oracle otherwise).
    response = stack.https(VALID, "/_accessctl/forward-auth", client="good")

    assert response.status == 404


def test_a_connection_made_for_another_hostname_is_421_not_nginx_500(stack: Stack) -> None:
    # SNI and Host valid.localhost, on the server that guards static.localhost: auth_request
    # turns any status but 2xx/401/403 into 500; the file maps accessctl's answer back.
    response = stack.https(VALID, "/index.html", port=stack.forward_auth_port, client="good")

    assert response.status == 421, stack.logs()
    assert STATIC_BODY not in response.body
    assert "CF_Authorization" not in response.set_cookies()


@pytest.mark.parametrize("host", ["open.localhost", "localhost"])
def test_another_host_header_cannot_skip_the_guard(stack: Stack, host: str) -> None:
    # nginx hands a request for any Host to the default server of its address. Neither a
    # hostname no policy guards nor a dashboard hostname (localhost) may open the upstream.
    response = _get(stack, headers=(f"Host: {host}",))

    assert response.status == 403, stack.logs()
    assert STATIC_BODY not in response.body


def test_the_guarded_hostname_decides_whatever_the_host_header_says(stack: Stack) -> None:
    # other-ca is let in on other.localhost only. Naming it in Host (and SNI) on the server
    # that guards static.localhost must not borrow other.localhost's policy.
    response = stack.https(OTHER, "/index.html", port=stack.forward_auth_port, client="other-ca")
    spoofed = _get(stack, client="other-ca", headers=(f"Host: {OTHER}",))

    assert response.status in {403, 421}, stack.logs()
    assert spoofed.status == 403
    assert STATIC_BODY not in response.body + spoofed.body
