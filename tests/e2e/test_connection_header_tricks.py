"""Hop-by-hop removal cannot strip a header the terminator sets (Traefik CVE-2024-45410).

A client naming a header in ``Connection:`` asks the next hop to drop it. Were the
terminator to drop its own SNI header that way, a valid client would get 421; dropping the
certificate header, 403; dropping X-Original-URI, a decision on the wrong path. Over HTTP/1.1
(HTTP/2 has no Connection header), a valid client naming them all must still be let in.
"""

from __future__ import annotations

import pytest

from tests.e2e.stack import STATIC, VALID, Stack, run_curl

STRIP = "Connection: keep-alive, " + ", ".join(
    [
        "X-SSL-Server-Name",
        "X-SSL-Client-Cert",
        "X-SSL-Client-Cert-Der",
        "X-Forwarded-Host",
        "X-Original-URI",
    ]
)


def _http11(stack: Stack, hostname: str, port: int, path: str = "/") -> int:
    files = stack.clients["good"]
    args = [
        "--http1.1",
        f"https://{hostname}:{port}{path}",
        "--resolve", f"{hostname}:{port}:127.0.0.1",
        "--cacert", str(stack.server_ca),
        "--cert", str(files.cert), "--key", str(files.key),
        "-H", STRIP,
    ]  # fmt: skip
    return run_curl(args).status


def test_nginx_keeps_its_own_headers(stack: Stack) -> None:
    assert _http11(stack, VALID, stack.https_port) == 200, stack.logs()


def test_nginx_forward_auth_keeps_its_own_headers(stack: Stack) -> None:
    assert _http11(stack, STATIC, stack.forward_auth_port, "/index.html") == 200, stack.logs()


@pytest.mark.parametrize("terminator", ["haproxy", "caddy"])
def test_haproxy_and_caddy_keep_their_own_headers(
    stack: Stack, terminator: str, request: pytest.FixtureRequest
) -> None:
    port = int(request.getfixturevalue(f"{terminator}_port"))
    assert _http11(stack, VALID, port) == 200, stack.logs()
