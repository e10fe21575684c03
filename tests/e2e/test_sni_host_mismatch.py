"""A TLS connection made for one hostname cannot be used to reach another: nginx forwards the
SNI (X-SSL-Server-Name), and accessctl answers 421 when it differs from the Host."""

from __future__ import annotations

from tests.e2e.stack import DEVICE, VALID, Stack


def test_a_request_whose_host_differs_from_the_sni_is_misdirected(stack: Stack) -> None:
    # SNI valid.localhost (the URL), Host device.localhost: device-7 would be let in there.
    response = stack.https(VALID, client="device-7", headers=(f"Host: {DEVICE}",))

    assert response.status == 421
    assert "CF_Authorization" not in response.set_cookies()


def test_a_client_cannot_forge_the_sni_header(stack: Stack) -> None:
    forged = (f"Host: {DEVICE}", f"X-SSL-Server-Name: {DEVICE}")

    assert stack.https(VALID, client="device-7", headers=forged).status == 421
