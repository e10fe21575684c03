"""A Python origin written as Cloudflare's documentation shows it accepts accessctl's tokens.

Cloudflare's "Validate JWTs" sample for Python (PyJWT) fetches ``<team domain>/cdn-cgi/access/
certs``, loads every JWK of ``keys`` with ``RSAAlgorithm.from_jwk`` and tries each key in turn
with ``jwt.decode(token, key=key, audience=POLICY_AUD, algorithms=["RS256"])``. That code is
below, unchanged but for urllib in place of requests, ``jwt.PyJWTError`` for its bare
``except`` and the claims returned for its flag; the token is the ``Cf-Access-Jwt-Assertion``
its application received through the middleware on a live server.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jwt
import pytest
import time_machine

from apps.tokens import keys, sessions
from tests.factories.hosts import OTHER
from tests.factories.live import LiveSite, http_get

pytestmark = pytest.mark.urls("tests.tokens.urls")


# --- The origin, as Cloudflare documents it ---------------------------------------------------


def _get_public_keys(certs_url: str) -> list[Any]:
    """Returns: List of RSA public keys usable by PyJWT."""
    _, jwk_set, _ = http_get(certs_url)
    public_keys = []
    for key_dict in jwk_set["keys"]:
        public_key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(key_dict))
        public_keys.append(public_key)
    return public_keys


def verify_token(token: str, certs_url: str, policy_aud: str) -> dict[str, Any] | None:
    """The claims of a token one of the team's keys verifies for ``policy_aud``, else None."""
    keys = _get_public_keys(certs_url)
    # Loop through the keys since we can't pass the key set to the decoder
    for key in keys:
        try:
            # decode returns the claims that has the email when needed
            return jwt.decode(token, key=key, audience=policy_aud, algorithms=["RS256"])
        except jwt.PyJWTError:
            pass
    return None


# --- The tests --------------------------------------------------------------------------------


def test_the_documented_origin_accepts_the_token_with_the_applications_aud_tag(site: LiveSite):
    token = site.token()
    claims = verify_token(token, site.certs_url, site.aud())
    assert claims is not None
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert claims["aud"] == [site.aud()]
    assert claims["sub"] == site.leaf.fingerprint
    assert claims["common_name"] == "device-7"
    assert claims["type"] == "app"


def test_the_documented_origin_refuses_the_token_with_another_aud_tag(site: LiveSite):
    token = site.token()
    assert site.aud(OTHER) != site.aud()
    assert verify_token(token, site.certs_url, site.aud(OTHER)) is None


def test_every_key_published_while_rs256_signs_is_an_rsa_key_the_documented_loop_loads(
    site: LiveSite,
):
    site.token()
    keys.signing_key_rotate()  # a successor, published ahead: two keys in the set
    published = site.jwks()["keys"]
    assert len(published) == 2
    assert {(key["kty"], key["alg"]) for key in published} == {("RSA", "RS256")}
    assert len(_get_public_keys(site.certs_url)) == 2


def test_after_a_switch_to_rs256_every_key_loads_and_es256_sessions_still_pass(
    site: LiveSite, settings
):
    settings.ACCESSCTL_TOKEN_ALGORITHM = "ES256"
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as traveller:
        before = site.get(cert=site.leaf)
        assert jwt.get_unverified_header(before.cookie)["alg"] == "ES256"
        es256_kid = jwt.get_unverified_header(before.cookie)["kid"]

        # The switch is a rotation: the RSA key is published at once and signs 5 minutes
        # later; meanwhile the EC key signs, left out of `keys` (the loop would stop at it).
        settings.ACCESSCTL_TOKEN_ALGORITHM = "RS256"
        published = site.jwks()["keys"]
        assert [key["kty"] for key in published] == ["RSA"]
        assert len(_get_public_keys(site.certs_url)) == 1

        traveller.shift(keys.PUBLISH_AHEAD)
        jwks = site.jwks()
        assert [key["kty"] for key in jwks["keys"]] == ["RSA"]
        assert len(_get_public_keys(site.certs_url)) == len(jwks["keys"])
        token = site.token()
        assert jwt.get_unverified_header(token)["alg"] == "RS256"
        assert verify_token(token, site.certs_url, site.aud()) is not None

        # The EC key is in its overlap: published as a certificate, and its sessions pass.
        assert es256_kid not in {key["kid"] for key in jwks["keys"]}
        assert es256_kid in {cert["kid"] for cert in jwks["public_certs"]}
        old_session = site.get("/reports", cookie=before.cookie)
        assert old_session.status == 200
        assert old_session.body["reason"] == "session"
        assert old_session.assertion == before.cookie


def test_with_es256_configured_the_keys_are_ec_and_verify_with_a_jwk_set(site: LiveSite, settings):
    settings.ACCESSCTL_TOKEN_ALGORITHM = "ES256"
    token = site.token()
    jwks = site.jwks()
    assert {(key["kty"], key["crv"], key["alg"]) for key in jwks["keys"]} == {
        ("EC", "P-256", "ES256")
    }
    key_set = jwt.PyJWKSet.from_dict(jwks)
    claims = jwt.decode(
        token,
        key_set[jwt.get_unverified_header(token)["kid"]],
        algorithms=["ES256"],
        audience=site.aud(),
        issuer=sessions.token_issuer(),
    )
    assert claims["sub"] == site.leaf.fingerprint
