"""A JavaScript origin written as Cloudflare's documentation shows it accepts accessctl's tokens.

tests/origins/node/verify.mjs is Cloudflare's Node.js example: ``jose``'s
``createRemoteJWKSet`` on the team's ``/cdn-cgi/access/certs`` and ``jwtVerify`` with the
application's AUD tag and the issuer. It runs in Node against the live server's key set and
verifies the ``Cf-Access-Jwt-Assertion`` its application received through the middleware.
Node and npm must be installed (.ci/run installs the origin's dependencies with ``npm ci``;
the tests do so themselves when they are missing).
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from apps.tokens import sessions
from tests.factories.hosts import OTHER
from tests.factories.live import LiveSite
from tests.tools import node_with_packages

pytestmark = pytest.mark.urls("tests.tokens.urls")
NODE_ORIGIN = Path(__file__).parent / "node"


@pytest.fixture(scope="module")
def node() -> str:
    """The node executable, with the origin's dependencies installed (``npm ci``) if need be."""
    return node_with_packages(NODE_ORIGIN, "jose")


def verify(node: str, site: LiveSite, token: str, *, audience: str, issuer: str) -> dict[str, Any]:
    """What ``node verify.mjs CERTS_URL TOKEN AUDIENCE ISSUER`` printed, with its exit code."""
    done = subprocess.run(
        [node, "verify.mjs", site.certs_url, token, audience, issuer],
        cwd=NODE_ORIGIN,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout, f"verify.mjs printed nothing:\n{done.stderr}"
    return {"exit": done.returncode, **json.loads(done.stdout)}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_the_javascript_origin_verifies_the_token_with_the_aud_tag_and_issuer(
    site: LiveSite, node: str, token_algorithm: str
):
    token = site.token()
    result = verify(node, site, token, audience=site.aud(), issuer=sessions.token_issuer())
    assert result["exit"] == 0, result
    assert result["alg"] == token_algorithm
    payload = result["payload"]
    assert payload["aud"] == [site.aud()]
    assert payload["iss"] == sessions.token_issuer()
    assert payload["sub"] == site.leaf.fingerprint
    assert payload["common_name"] == "device-7"


def test_the_javascript_origin_refuses_the_token_for_another_aud_tag(site: LiveSite, node: str):
    result = verify(
        node, site, site.token(), audience=site.aud(OTHER), issuer=sessions.token_issuer()
    )
    assert result["exit"] == 1
    assert result["error"] == "ERR_JWT_CLAIM_VALIDATION_FAILED"
    assert '"aud"' in result["message"]


def test_the_javascript_origin_refuses_the_token_from_another_issuer(site: LiveSite, node: str):
    result = verify(node, site, site.token(), audience=site.aud(), issuer="https://elsewhere.test")
    assert result["exit"] == 1
    assert result["error"] == "ERR_JWT_CLAIM_VALIDATION_FAILED"
    assert '"iss"' in result["message"]


def _a_claim_changed_under_the_signature(token: str) -> str:
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["common_name"] = "admin"
    return f"{head}.{b64(json.dumps(claims).encode())}.{signature}"


def _signed_by_a_stranger_under_the_teams_kid(token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": kid})


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(_a_claim_changed_under_the_signature, id="a changed claim"),
        pytest.param(_signed_by_a_stranger_under_the_teams_kid, id="another key's signature"),
    ],
)
def test_the_javascript_origin_refuses_a_tampered_token(site: LiveSite, node: str, tamper):
    tampered = tamper(site.token())
    result = verify(node, site, tampered, audience=site.aud(), issuer=sessions.token_issuer())
    assert result["exit"] == 1
    assert result["error"] == "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"
