"""The shipped Apache httpd site (deploy/apache/accessctl.conf, mod_ssl with SSLVerifyClient
optional_no_ca) in front of a gunicorn reading the PEM mod_headers forwards
(ACCESSCTL_CLIENT_CERT_FORMAT=nginx-pem): the same refusals and the same session as behind
nginx, on valid.localhost (CA A, Valid Certificate)."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.stack import SNI_HEADER, VALID, Response, Stack, run_curl


def _get(
    stack: Stack,
    port: int,
    *,
    client: str | None = None,
    cookie: str | None = None,
    headers: tuple[str, ...] = (),
) -> Response:
    return stack.https(VALID, port=port, client=client, cookie=cookie, headers=headers)


def test_a_valid_certificate_is_let_in_with_a_session_cookie_that_works_alone(
    stack: Stack, apache_port: int
) -> None:
    response = _get(stack, apache_port, client="good")

    assert response.status == 200, stack.logs()
    assert "device-1" in response.body
    token = response.cookie_value("CF_Authorization")
    assert token
    assert _get(stack, apache_port, cookie=token).status == 200


def test_a_request_without_a_certificate_is_refused(stack: Stack, apache_port: int) -> None:
    response = _get(stack, apache_port)
    assert response.status == 403
    assert response.cookie_value("CF_Authorization") is None


def test_a_certificate_from_a_ca_not_bound_to_the_hostname_is_refused(
    stack: Stack, apache_port: int
) -> None:
    assert _get(stack, apache_port, client="other-ca").status == 403


@pytest.mark.parametrize(
    "name", ["X-SSL-Client-Cert", "X_SSL_Client_Cert", "X-SSL-Client-Cert-Der", "Client-Cert"]
)
def test_a_certificate_header_a_client_sends_itself_is_not_believed(
    stack: Stack, apache_port: int, name: str
) -> None:
    good = stack.clients["good"].issued
    unfolded = " ".join(good.pem.split("\n")).strip()
    forged = (f"{name}: {unfolded}", f"{SNI_HEADER}: {VALID}")

    assert _get(stack, apache_port, headers=forged).status == 403
    # Beside a certificate of a CA the hostname does not trust, it does not win either.
    assert _get(stack, apache_port, client="other-ca", headers=forged).status == 403


def test_the_same_header_from_the_trusted_proxy_address_is_honoured(
    stack: Stack, apache_port: int, pem_upstream: int
) -> None:
    """The refusals above mean something only because the header's value is not the
    problem: sent to the same gunicorn from the trusted proxy's address, it lets the client in."""
    unfolded = " ".join(stack.clients["good"].issued.pem.split("\n")).strip()
    headers = [f"Host: {VALID}", f"X-SSL-Client-Cert: {unfolded}", f"{SNI_HEADER}: {VALID}"]

    response = run_curl([f"http://127.0.0.1:{pem_upstream}/", *_each("-H", headers)])

    assert response.status == 200, stack.logs()


def _each(flag: str, values: list[str]) -> list[str]:
    return [arg for value in values for arg in (flag, value)]


def test_a_certificate_outside_its_validity_ends_in_the_tls_handshake(
    stack: Stack, apache_port: int
) -> None:
    """mod_ssl judges validity dates itself even with optional_no_ca (nginx hands such a
    certificate on, deploy/README.md): the client gets a TLS alert, never the page."""
    expired = stack.clients["expired"]
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "15", f"https://{VALID}:{apache_port}/",
         "--resolve", f"{VALID}:{apache_port}:127.0.0.1", "--cacert", str(stack.server_ca),
         "--cert", str(expired.cert), "--key", str(expired.key)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip

    assert done.returncode != 0 and done.stdout == ""
    assert "certificate expired" in done.stderr
