"""A client cannot choose the request id accessctl logs: every shipped terminator replaces a
client's X-Request-Id with its own (accessctl trusts the id of a trusted proxy)."""

from __future__ import annotations

from tests.e2e.stack import VALID, Stack

CHOSEN = "X-Request-Id: chosen-by-the-client-0001"


def _request_id(headers: dict[str, list[str]]) -> str:
    values = headers.get("x-request-id", [])
    assert len(values) == 1, headers
    return values[0]


def test_nginx_replaces_a_clients_request_id(stack: Stack) -> None:
    response = stack.https(VALID, headers=[CHOSEN])

    assert response.status == 403
    assert _request_id(response.headers) != "chosen-by-the-client-0001"


def test_haproxy_and_caddy_replace_a_clients_request_id(
    stack: Stack, haproxy_port: int, caddy_port: int
) -> None:
    for port in (haproxy_port, caddy_port):
        response = stack.https(VALID, port=port, headers=[CHOSEN])

        assert response.status == 403
        assert _request_id(response.headers) != "chosen-by-the-client-0001", port
