"""A "No duration, expires immediately" policy through nginx (once.localhost): every request
must present the certificate; no session cookie is ever sent."""

from __future__ import annotations

from tests.e2e.stack import ONCE, Stack


def test_a_valid_certificate_is_let_in_without_a_session_cookie(stack: Stack) -> None:
    response = stack.https(ONCE, client="good")

    assert response.status == 200
    assert "CF_Authorization" not in response.set_cookies()


def test_the_next_request_without_the_certificate_is_refused(stack: Stack) -> None:
    assert stack.https(ONCE, client="good").status == 200

    assert stack.https(ONCE).status == 403
