"""The pure token core: what a minted token holds, and every way a token is refused, with keys
of both algorithms (RS256, the default, and ES256)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from accessctl.core import tokens
from accessctl.core.revocation import ChainLink
from accessctl.core.tokens import Algorithm, Signer, TokenError, mint_token, verify_token

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
FINGERPRINT = hashlib.sha256(b"a certificate").hexdigest()
OTHER_FINGERPRINT = hashlib.sha256(b"another certificate").hexdigest()
AUDIENCE = "aud-app"
ISSUER = "https://access.example.com"
EPOCH = "epoch-1"


def new_signing_key(kid: str = "k1", algorithm: Algorithm = Algorithm.RS256) -> Signer:
    return Signer(kid=kid, private_key=tokens.generate_private_key(algorithm))


@pytest.fixture(scope="module", params=list(Algorithm), ids=lambda a: a.value)
def key(request) -> Signer:
    return new_signing_key(algorithm=request.param)


def mint(key: Signer, **overrides: object) -> str:
    args: dict[str, object] = {
        "key": key,
        "fingerprint_sha256": FINGERPRINT,
        "common_name": "device-7",
        "audience": AUDIENCE,
        "issuer": ISSUER,
        "epoch": EPOCH,
        "session_seconds": 3600,
        "now": NOW,
    }
    args.update(overrides)
    return mint_token(**args).token  # type: ignore[arg-type]


def verify(token: str, key: Signer, **overrides: object) -> tokens.SessionClaims:
    args: dict[str, object] = {
        "keys": {key.kid: key.private_key.public_key()},
        "audience": AUDIENCE,
        "issuer": ISSUER,
        "epoch": EPOCH,
        "now": NOW + dt.timedelta(seconds=10),
    }
    args.update(overrides)
    return verify_token(token, **args)  # type: ignore[arg-type]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, object], payload: dict[str, object], signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return head + "." + b64(signature)


def payload_of(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def signed(claims: dict[str, object], key) -> str:
    """``claims`` as a token properly signed by ``key``: only the claims are wrong."""
    return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid})


def test_a_minted_token_carries_every_claim_origins_and_we_rely_on(key):
    token = mint(key)
    header = jwt.get_unverified_header(token)
    claims = payload_of(token)
    assert header == {"alg": key.algorithm.value, "kid": "k1", "typ": "JWT"}
    assert claims["aud"] == [AUDIENCE]
    assert claims["iss"] == ISSUER
    assert claims["sub"] == FINGERPRINT
    assert claims["common_name"] == "device-7"
    assert claims["iat"] == claims["nbf"] == int(NOW.timestamp())
    assert claims["type"] == "app"
    assert claims["epoch"] == EPOCH
    expected_thumbprint = b64(hashlib.sha256(b"a certificate").digest())
    assert claims["cnf"] == {"x5t#S256": expected_thumbprint}


def test_each_token_has_a_unique_jti(key):
    ids = {payload_of(mint(key))["jti"] for _ in range(50)}
    assert len(ids) == 50


@pytest.mark.parametrize(
    "session_seconds",
    [15 * 60, 30 * 60, 6 * 3600, 12 * 3600, 24 * 3600, 7 * 86400, 30 * 86400],
    ids=["15m", "30m", "6h", "12h", "24h", "1w", "1month"],
)
def test_the_session_duration_sets_exp(key, session_seconds):
    claims = payload_of(mint(key, session_seconds=session_seconds))
    assert claims["exp"] - claims["iat"] == session_seconds


def test_no_duration_gives_a_token_for_this_request_only(key):
    claims = payload_of(mint(key, session_seconds=0))
    assert claims["exp"] - claims["iat"] == tokens.REQUEST_TOKEN_SECONDS


def test_a_negative_session_duration_is_a_programming_error(key):
    with pytest.raises(ValueError, match="negative"):
        mint(key, session_seconds=-1)


def test_a_valid_token_verifies_to_its_claims(key):
    claims = verify(mint(key), key)
    assert claims.subject == FINGERPRINT
    assert claims.common_name == "device-7"
    assert claims.audience == AUDIENCE
    assert claims.kid == "k1"
    assert claims.expires_at == NOW + dt.timedelta(hours=1)
    assert claims.issued_at == NOW


def test_a_token_verifies_with_the_certificate_it_was_issued_for(key):
    assert verify(mint(key), key, fingerprint_sha256=FINGERPRINT).subject == FINGERPRINT


def test_a_token_presented_with_another_certificate_is_refused(key):
    with pytest.raises(TokenError) as err:
        verify(mint(key), key, fingerprint_sha256=OTHER_FINGERPRINT)
    assert err.value.reason == "token_cert_mismatch"


def test_alg_none_is_refused(key):
    claims = payload_of(mint(key))
    token = forge({"alg": "none", "kid": "k1", "typ": "JWT"}, claims)
    with pytest.raises(TokenError) as err:
        verify(token, key)
    assert err.value.reason == "token_bad_algorithm"


def test_hs256_signed_with_the_public_key_is_refused(key):
    # CVE-2022-29217: an HMAC "signed" with the published public key must not pass.
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": "k1", "typ": "JWT"}
    claims = payload_of(mint(key))
    unsigned = forge(header, claims).rsplit(".", 1)[0]
    signature = hmac.new(public_pem, unsigned.encode(), hashlib.sha256).digest()
    with pytest.raises(TokenError) as err:
        verify(unsigned + "." + b64(signature), key)
    assert err.value.reason == "token_bad_algorithm"


def test_an_unknown_kid_is_refused(key):
    with pytest.raises(TokenError) as err:
        verify(mint(new_signing_key("k-unknown")), key)
    assert err.value.reason == "token_unknown_kid"


def test_a_token_without_kid_is_refused(key):
    token = jwt.encode(payload_of(mint(key)), key.private_key, algorithm=key.algorithm)
    with pytest.raises(TokenError) as err:
        verify(token, key)
    assert err.value.reason == "token_unknown_kid"


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(key):
    impostor = new_signing_key(kid=key.kid, algorithm=key.algorithm)
    with pytest.raises(TokenError) as err:
        verify(mint(impostor), key)
    assert err.value.reason == "token_bad_signature"


def test_a_tampered_payload_is_refused(key):
    head, _, signature = mint(key).split(".")
    claims = payload_of(mint(key))
    claims["common_name"] = "admin"
    tampered = head + "." + b64(json.dumps(claims).encode()) + "." + signature
    with pytest.raises(TokenError) as err:
        verify(tampered, key)
    assert err.value.reason == "token_bad_signature"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "x" * 5000, "e30.e30.", "\x00.."])
def test_garbage_is_refused_with_a_reason(key, garbage):
    with pytest.raises(TokenError) as err:
        verify(garbage, key)
    assert err.value.reason.startswith("token_")


def test_an_expired_token_is_refused(key):
    token = mint(key, session_seconds=900)
    with pytest.raises(TokenError) as err:
        verify(token, key, now=NOW + dt.timedelta(seconds=900))
    assert err.value.reason == "token_expired"


def test_a_token_is_accepted_until_its_last_second(key):
    token = mint(key, session_seconds=900)
    assert verify(token, key, now=NOW + dt.timedelta(seconds=899)).subject == FINGERPRINT


@pytest.mark.parametrize("missing", ["exp", "iat", "nbf", "iss", "aud", "sub"])
def test_a_token_missing_a_required_claim_is_refused(key, missing):
    claims = payload_of(mint(key))
    del claims[missing]
    token = signed(claims, key)
    with pytest.raises(TokenError) as err:
        verify(token, key)
    assert err.value.reason == "token_missing_claim"


# A claim set to a value we never issue, the token signed again with the right key.
ALTERED_CLAIMS = [
    pytest.param("exp", "9999999999", id="a non-integer exp"),
    pytest.param(
        "cnf",
        {"x5t#S256": tokens.certificate_thumbprint(OTHER_FINGERPRINT)},
        id="a cnf that does not match its subject",
    ),
    pytest.param("type", "org", id="a token of another type"),
]


@pytest.mark.parametrize(("claim", "value"), ALTERED_CLAIMS)
def test_a_token_carrying_a_claim_value_we_never_issue_is_refused(key, claim, value):
    claims = payload_of(mint(key))
    claims[claim] = value
    token = signed(claims, key)
    with pytest.raises(TokenError) as err:
        verify(token, key)
    assert err.value.reason == "token_invalid"


def test_a_token_for_host_a_is_refused_on_host_b(key):
    token = mint(key, audience="aud-host-a")
    with pytest.raises(TokenError) as err:
        verify(token, key, audience="aud-host-b")
    assert err.value.reason == "token_wrong_audience"


def test_a_token_from_another_issuer_is_refused(key):
    with pytest.raises(TokenError) as err:
        verify(mint(key, issuer="https://evil.example"), key)
    assert err.value.reason == "token_wrong_issuer"


def test_a_token_from_an_older_configuration_is_refused(key):
    with pytest.raises(TokenError) as err:
        verify(mint(key, epoch="epoch-1"), key, epoch="epoch-2")
    assert err.value.reason == "token_stale_epoch"


def test_a_token_from_the_future_is_refused_beyond_the_clock_skew(key):
    token = mint(key, now=NOW + dt.timedelta(seconds=tokens.CLOCK_SKEW_SECONDS + 5))
    with pytest.raises(TokenError) as err:
        verify(token, key, now=NOW)
    assert err.value.reason == "token_not_yet_valid"


def test_a_token_minted_by_a_node_slightly_ahead_is_accepted(key):
    token = mint(key, now=NOW + dt.timedelta(seconds=2))
    assert verify(token, key, now=NOW).subject == FINGERPRINT


def test_an_over_long_common_name_is_left_out_of_the_token(key):
    claims = payload_of(mint(key, common_name="x" * 500))
    assert "common_name" not in claims


def test_a_token_stays_small_with_the_longest_common_name(key):
    # 64 astral-plane characters: the worst case JSON escaping can make of a CN.
    token = mint(key, common_name="\U0001f600" * 64, audience="a" * 64, epoch="e" * 64)
    assert len(token) < 2048


def test_the_public_jwk_holds_no_private_material(key):
    jwk = tokens.public_jwk("k1", key.private_key.public_key())
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)
    assert (jwk["kid"], jwk["alg"], jwk["use"]) == ("k1", key.algorithm.value, "sig")
    if key.algorithm is Algorithm.RS256:
        assert (jwk["kty"], jwk["e"]) == ("RSA", "AQAB")
        assert len(base64.urlsafe_b64decode(jwk["n"] + "==")) == 256  # 2048 bits
    else:
        assert (jwk["kty"], jwk["crv"]) == ("EC", "P-256")


def test_a_token_verifies_with_plain_pyjwt_against_the_published_jwk(key):
    jwks = jwt.PyJWKSet.from_dict({"keys": [tokens.public_jwk("k1", key.private_key.public_key())]})
    token = mint(key, now=dt.datetime.now(dt.UTC))
    claims = jwt.decode(
        token, jwks["k1"], algorithms=[key.algorithm.value], audience=AUDIENCE, issuer=ISSUER
    )
    assert claims["sub"] == FINGERPRINT


def test_the_kid_thumbprint_is_stable_and_differs_between_keys(key):
    public = key.private_key.public_key()
    assert tokens.jwk_thumbprint(public) == tokens.jwk_thumbprint(public)
    assert tokens.jwk_thumbprint(public) != tokens.jwk_thumbprint(
        new_signing_key(algorithm=key.algorithm).private_key.public_key()
    )
    assert len(tokens.jwk_thumbprint(public)) == 43


def test_the_issuing_policy_survives_verification(key):
    assert verify(mint(key, policy_id=12), key).policy_id == 12
    assert verify(mint(key), key).policy_id is None


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=300)
    | st.from_regex(r"[A-Za-z0-9_\-]{0,40}\.[A-Za-z0-9_\-]{0,80}\.[A-Za-z0-9_\-]{0,40}")
)
def test_no_token_value_raises_anything_but_a_token_error(garbage):
    key = new_signing_key()
    with pytest.raises(TokenError):
        verify(garbage, key)


def test_a_token_claiming_the_other_algorithm_of_the_pair_is_refused(key):
    # An RS256 key's kid with alg ES256 (or the reverse) is never tried with another verifier.
    other = Algorithm.ES256 if key.algorithm is Algorithm.RS256 else Algorithm.RS256
    stranger = new_signing_key(kid=key.kid, algorithm=other)
    with pytest.raises(TokenError) as err:
        verify(mint(stranger), key)
    assert err.value.reason == "token_bad_algorithm"


def test_the_minted_token_says_when_it_was_signed_and_ends(key):
    minted = mint_token(
        key=key,
        fingerprint_sha256=FINGERPRINT,
        common_name=None,
        audience=AUDIENCE,
        issuer=ISSUER,
        epoch=EPOCH,
        session_seconds=900,
        now=NOW,
    )
    claims = payload_of(minted.token)
    assert (minted.issued_at.timestamp(), minted.expires_at.timestamp()) == (
        claims["iat"],
        claims["exp"],
    )
    assert minted.expires_at - minted.issued_at == dt.timedelta(seconds=900)


CHAIN = (ChainLink(FINGERPRINT, "1f"), ChainLink("bb" * 32, "2"))


def test_a_token_carries_the_verified_path_it_was_issued_for(key):
    token = mint(key, chain=CHAIN)
    assert payload_of(token)["chn"] == [[FINGERPRINT, "1f"], ["bb" * 32, "2"]]
    claims = verify(token, key)
    assert claims.chain == CHAIN and claims.links == CHAIN


def test_a_token_without_a_path_is_checked_by_its_leaf_alone(key):
    claims = verify(mint(key), key)
    assert claims.chain == () and claims.links == (ChainLink(FINGERPRINT, ""),)


@pytest.mark.parametrize(
    "chn",
    [[], "x", [[FINGERPRINT]], [[OTHER_FINGERPRINT, "1"]], [[FINGERPRINT, 1]]],
    ids=["empty", "string", "short link", "another leaf", "serial not a string"],
)
def test_a_token_whose_path_is_malformed_is_refused(key, chn):
    claims = payload_of(mint(key))
    claims["chn"] = chn
    with pytest.raises(TokenError) as caught:
        verify(signed(claims, key), key)
    assert caught.value.reason == "token_invalid"
