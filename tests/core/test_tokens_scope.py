"""Where a session token lets a request through: the issuing policy's paths, and no further."""

from __future__ import annotations

import datetime as dt

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from accessctl.core.policy import Decision, Policy, Rule, RuleGroup, RuleType
from accessctl.core.tokens import Signer, mint_token, session_applies

VALID = (Rule(RuleGroup.INCLUDE, RuleType.VALID_CERTIFICATE),)
ADMIN_CN = (Rule(RuleGroup.INCLUDE, RuleType.COMMON_NAME, "intruder"),)


def policy(
    pid: int, decision: Decision, order: int, prefix: str = "/", rules=VALID, seconds=3600
) -> Policy:
    return Policy(pid, f"p{pid}", decision, order, rules, seconds, prefix)


def test_the_issuing_policy_covers_the_whole_site():
    assert session_applies([policy(1, Decision.ALLOW, 1)], 1, "/anything/at/all")


def test_a_session_does_not_reach_paths_its_policy_does_not_cover():
    policies = [policy(1, Decision.ALLOW, 1, "/api"), policy(2, Decision.ALLOW, 2, "/admin")]
    assert session_applies(policies, 1, "/api/items")
    assert not session_applies(policies, 1, "/admin")
    assert not session_applies(policies, 1, "/apix")


def test_a_block_policy_evaluated_first_on_the_path_requires_the_certificate():
    policies = [policy(2, Decision.BLOCK, 1, "/admin", ADMIN_CN), policy(1, Decision.ALLOW, 2)]
    assert session_applies(policies, 1, "/")
    assert not session_applies(policies, 1, "/admin/users")


def test_a_block_policy_evaluated_after_the_issuing_policy_does_not_matter():
    policies = [policy(1, Decision.ALLOW, 1), policy(2, Decision.BLOCK, 2)]
    assert session_applies(policies, 1, "/")


def test_a_session_from_a_policy_that_was_removed_or_disabled_is_refused():
    assert not session_applies([policy(2, Decision.ALLOW, 1)], 1, "/")
    assert not session_applies([policy(1, Decision.ALLOW, 1)], None, "/")


def test_a_bypass_or_block_policy_never_backs_a_session():
    assert not session_applies([policy(1, Decision.BYPASS, 1)], 1, "/")
    assert not session_applies([policy(1, Decision.BLOCK, 1)], 1, "/")


def test_a_non_identity_policy_backs_a_session():
    assert session_applies([policy(1, Decision.NON_IDENTITY, 1)], 1, "/")


def test_a_session_never_outlives_its_certificate():
    key = Signer("k", ec.generate_private_key(ec.SECP256R1()))
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    token = mint_token(
        key=key,
        fingerprint_sha256="ab" * 32,
        common_name="d",
        audience="a",
        issuer="i",
        epoch="e",
        session_seconds=30 * 86400,
        now=now,
        policy_id=7,
        not_after=now + dt.timedelta(hours=2),
    )
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert claims["exp"] == int((now + dt.timedelta(hours=2)).timestamp())
    assert token.expires_at == now + dt.timedelta(hours=2)
    assert claims["pol"] == 7


def test_a_no_duration_policy_never_backs_a_session():
    assert not session_applies([policy(1, Decision.NON_IDENTITY, 1, seconds=0)], 1, "/")
