"""A client cannot forge the certificate header: nginx overwrites it, and gunicorn ignores it
from any address that is not a trusted proxy (see the conftest for how that is staged)."""

from __future__ import annotations

from tests.e2e.stack import ATTACKER_ADDRESS, SNI_HEADER, VALID, Stack


def test_a_client_sending_its_own_certificate_header_through_nginx_is_refused(
    stack: Stack,
) -> None:
    forged = f"X-SSL-Client-Cert: {stack.clients['good'].escaped}"

    assert stack.https(VALID, headers=[forged]).status == 403


def test_the_underscore_spelling_of_the_header_through_nginx_is_refused(stack: Stack) -> None:
    forged = f"X_SSL_Client_Cert: {stack.clients['good'].escaped}"

    assert stack.https(VALID, headers=[forged]).status == 403


def test_a_client_reaching_gunicorn_directly_from_an_untrusted_address_is_refused(
    stack: Stack,
) -> None:
    forged = [f"X-SSL-Client-Cert: {stack.clients['good'].escaped}", f"{SNI_HEADER}: {VALID}"]

    assert stack.direct(VALID, headers=forged, interface=ATTACKER_ADDRESS).status == 403


def test_the_same_header_from_the_trusted_proxy_address_is_honoured(stack: Stack) -> None:
    # The control for the test above: the only difference is the source address, so the
    # refusal there is the trust boundary's doing and not a broken header.
    forged = [f"X-SSL-Client-Cert: {stack.clients['good'].escaped}", f"{SNI_HEADER}: {VALID}"]

    assert stack.direct(VALID, headers=forged).status == 200
