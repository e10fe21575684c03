"""The pure evaluator: decisions, groups, order, path prefixes and the default deny."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accessctl.core.policy import (
    Decision,
    RequestFacts,
    evaluate,
    evaluation_order,
    explain,
    path_covered,
)
from accessctl.core.reasons import Reason
from tests.factories.evaluation import (
    CN,
    DEVICE7,
    EXC,
    INC,
    OU,
    REQ,
    VALID,
    facts,
    identity,
    policy,
)

OTHER = identity("device-8", ous=("Contractors",))

# (id, policies, request identity, allowed, deciding policy id, reason)
CASES = [
    (
        "non identity with matching CN allows",
        [policy(1, Decision.NON_IDENTITY, (INC, CN, "device-7"))],
        DEVICE7,
        True,
        1,
        "policy_allow",
    ),
    (
        "allow behaves like non identity",
        [policy(1, Decision.ALLOW, (INC, CN, "device-7"))],
        DEVICE7,
        True,
        1,
        "policy_allow",
    ),
    (
        "bypass with a valid certificate allows",
        [policy(1, Decision.BYPASS, (INC, VALID, ""))],
        DEVICE7,
        True,
        1,
        "bypass",
    ),
    (
        "block that matches denies",
        [policy(1, Decision.BLOCK, (INC, CN, "device-7"))],
        DEVICE7,
        False,
        1,
        "policy_block",
    ),
    (
        "CN that differs matches nothing",
        [policy(1, Decision.NON_IDENTITY, (INC, CN, "device-7"))],
        OTHER,
        False,
        None,
        "no_matching_policy",
    ),
    ("no policies deny", [], DEVICE7, False, None, "no_policy_for_path"),
    (
        "include: any rule suffices",
        [policy(1, Decision.ALLOW, (INC, CN, "x"), (INC, CN, "device-8"))],
        OTHER,
        True,
        1,
        "policy_allow",
    ),
    (
        "require: every rule must match",
        [policy(1, Decision.ALLOW, (INC, VALID, ""), (REQ, OU, "Fleet"), (REQ, CN, "device-8"))],
        DEVICE7,
        False,
        None,
        "no_matching_policy",
    ),
    (
        "require: all matching allows",
        [policy(1, Decision.ALLOW, (INC, VALID, ""), (REQ, OU, "Fleet"), (REQ, CN, "device-7"))],
        DEVICE7,
        True,
        1,
        "policy_allow",
    ),
    (
        "exclude: a matching exclude vetoes",
        [policy(1, Decision.ALLOW, (INC, VALID, ""), (EXC, OU, "Contractors"))],
        OTHER,
        False,
        None,
        "no_matching_policy",
    ),
    (
        "exclude: a non-matching exclude passes",
        [policy(1, Decision.ALLOW, (INC, VALID, ""), (EXC, OU, "Contractors"))],
        DEVICE7,
        True,
        1,
        "policy_allow",
    ),
    (
        "a policy without include never matches",
        [policy(1, Decision.ALLOW, (REQ, VALID, ""))],
        DEVICE7,
        False,
        None,
        "no_matching_policy",
    ),
    (
        "first allow/block by order wins: block first",
        [
            policy(1, Decision.ALLOW, (INC, VALID, ""), order=2),
            policy(2, Decision.BLOCK, (INC, CN, "device-7"), order=1),
        ],
        DEVICE7,
        False,
        2,
        "policy_block",
    ),
    (
        "first allow/block by order wins: allow first",
        [
            policy(1, Decision.ALLOW, (INC, VALID, ""), order=1),
            policy(2, Decision.BLOCK, (INC, CN, "device-7"), order=2),
        ],
        DEVICE7,
        True,
        1,
        "policy_allow",
    ),
    (
        "non-matching block falls through to allow",
        [
            policy(1, Decision.BLOCK, (INC, CN, "device-8"), order=1),
            policy(2, Decision.ALLOW, (INC, VALID, ""), order=2),
        ],
        DEVICE7,
        True,
        2,
        "policy_allow",
    ),
    (
        "bypass runs before a block of lower order",
        [
            policy(1, Decision.BLOCK, (INC, VALID, ""), order=1),
            policy(2, Decision.BYPASS, (INC, CN, "device-7"), order=9),
        ],
        DEVICE7,
        True,
        2,
        "bypass",
    ),
    (
        "non identity runs before a block of lower order",
        [
            policy(1, Decision.BLOCK, (INC, VALID, ""), order=1),
            policy(2, Decision.NON_IDENTITY, (INC, VALID, ""), order=9),
        ],
        DEVICE7,
        True,
        2,
        "policy_allow",
    ),
    (
        "bypass and non identity share one order",
        [
            policy(1, Decision.NON_IDENTITY, (INC, VALID, ""), order=2),
            policy(2, Decision.BYPASS, (INC, VALID, ""), order=1),
        ],
        DEVICE7,
        True,
        2,
        "bypass",
    ),
    (
        "equal orders are broken by id",
        [policy(5, Decision.BLOCK, (INC, VALID, "")), policy(3, Decision.ALLOW, (INC, VALID, ""))],
        DEVICE7,
        True,
        3,
        "policy_allow",
    ),
    (
        "without a certificate a valid-certificate bypass does not match",
        [policy(1, Decision.BYPASS, (INC, VALID, ""))],
        None,
        False,
        None,
        "certificate_required",
    ),
    (
        "without a certificate a block cannot match either",
        [policy(1, Decision.BLOCK, (INC, VALID, ""))],
        None,
        False,
        None,
        "certificate_required",
    ),
]


@pytest.mark.parametrize(
    ("policies", "who", "allowed", "decider", "reason"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_evaluation_decides_as_cloudflare_does(policies, who, allowed, decider, reason):
    outcome = evaluate(tuple(policies), facts(who))
    assert outcome.allowed is allowed
    assert (outcome.policy.id if outcome.policy else None) == decider
    assert outcome.reason == reason


def test_an_allow_carries_the_policy_session_duration():
    outcome = evaluate((policy(1, Decision.ALLOW, (INC, VALID, ""), session=900),), facts(DEVICE7))
    assert outcome.session_seconds == 900


def test_no_duration_is_zero_seconds_not_none():
    outcome = evaluate((policy(1, Decision.ALLOW, (INC, VALID, ""), session=0),), facts(DEVICE7))
    assert outcome.allowed and outcome.session_seconds == 0


@pytest.mark.parametrize("decision", [Decision.BYPASS, Decision.BLOCK])
def test_bypass_and_block_carry_no_session(decision):
    outcome = evaluate((policy(1, decision, (INC, VALID, "")),), facts(DEVICE7))
    assert outcome.session_seconds is None


def test_a_failed_verification_is_the_reason_when_nothing_matches():
    outcome = evaluate(
        (policy(1, Decision.ALLOW, (INC, VALID, "")),), facts(None, error=Reason.CHAIN_UNTRUSTED)
    )
    assert (outcome.allowed, outcome.reason) == (False, "chain_untrusted")


def test_an_identity_outside_its_validity_counts_as_no_certificate():
    expired = identity()
    late = RequestFacts("app.example.com", "/", expired, None, expired.not_after + dt.timedelta(1))
    outcome = evaluate((policy(1, Decision.ALLOW, (INC, VALID, "")),), late)
    assert (outcome.allowed, outcome.reason) == (False, "cert_expired")


@pytest.mark.parametrize(
    ("prefix", "path", "covered"),
    [
        ("/", "/", True),
        ("/", "/anything/at/all", True),
        ("/api", "/api", True),
        ("/api", "/api/", True),
        ("/api", "/api/x", True),
        ("/api", "/apix", False),
        ("/api", "/", False),
        ("/api/", "/api/v1", True),
        ("/api/v1", "/api", False),
        ("/api", "/api/../admin", False),
        ("/admin", "/api/../admin", True),
        ("/admin", "//admin", True),
        ("/admin", "/./admin/x", True),
        ("/admin", "/../../admin", True),
        ("/api", "/api/x/../..", False),
    ],
)
def test_path_prefixes_are_segment_aware(prefix, path, covered):
    assert path_covered(prefix, path) is covered


def test_a_policy_outside_the_path_is_skipped():
    policies = (
        policy(1, Decision.BLOCK, (INC, VALID, ""), path="/admin"),
        policy(2, Decision.ALLOW, (INC, VALID, ""), order=2),
    )
    assert evaluate(policies, facts(DEVICE7, path="/adminx")).policy == policies[1]
    assert evaluate(policies, facts(DEVICE7, path="/admin/users")).policy == policies[0]


def test_dot_segments_cannot_slip_past_a_block():
    policies = (
        policy(1, Decision.BLOCK, (INC, VALID, ""), path="/admin", order=1),
        policy(2, Decision.ALLOW, (INC, VALID, ""), path="/api", order=2),
    )
    for path in ("/api/../admin", "/api//..//admin/users", "//admin"):
        assert evaluate(policies, facts(DEVICE7, path=path)).reason == "policy_block", path


def test_a_path_no_policy_covers_is_denied():
    policies = (policy(1, Decision.ALLOW, (INC, VALID, ""), path="/api"),)
    outcome = evaluate(policies, facts(DEVICE7, path="/static/app.js"))
    assert (outcome.allowed, outcome.reason) == (False, "no_policy_for_path")


def test_evaluation_order_puts_bypass_and_non_identity_first():
    policies = (
        policy(1, Decision.BLOCK, order=1),
        policy(2, Decision.ALLOW, order=0),
        policy(3, Decision.NON_IDENTITY, order=5),
        policy(4, Decision.BYPASS, order=3),
    )
    assert [p.id for p in evaluation_order(policies)] == [4, 3, 2, 1]


def test_explain_marks_the_deciding_policy_and_later_ones_not_reached():
    policies = (
        policy(1, Decision.BLOCK, (INC, CN, "device-8"), order=1),
        policy(2, Decision.ALLOW, (INC, CN, "device-7"), order=2),
        policy(3, Decision.BLOCK, (INC, VALID, ""), order=3),
        policy(4, Decision.ALLOW, (INC, VALID, ""), order=4, path="/api"),
    )
    result = explain(policies, facts(DEVICE7))
    assert result.outcome.policy == policies[1]
    assert [c.status for c in result.policies] == [
        "no_match",
        "decided",
        "not_reached",
        "path_not_covered",
    ]
    assert result.policies[0].rules[0].why == "CN is 'device-7', not 'device-8'"
    assert result.policies[1].rules[0].matched is True
    # Rules of a policy that was not reached are still checked, for the operator's benefit.
    assert result.policies[2].matched is True


def test_explain_says_which_require_rule_failed():
    policies = (policy(1, Decision.ALLOW, (INC, VALID, ""), (REQ, CN, "device-8")),)
    check = explain(policies, facts(DEVICE7)).policies[0]
    assert check.status == "no_match"
    assert check.why == "Require rule failed: Require: Common Name is device-8"
    assert [r.matched for r in check.rules] == [True, False]


def test_explain_without_certificate_gives_the_certificate_reason():
    policies = (policy(1, Decision.ALLOW, (INC, VALID, "")),)
    result = explain(policies, facts(None, error=Reason.CERT_EXPIRED))
    assert result.outcome.reason == "cert_expired"
    assert result.policies[0].rules[0].why == "needs a verified client certificate"
    assert "cert_expired" in result.policies[0].why


POOL = [
    policy(1, Decision.BYPASS, (INC, CN, "device-9"), path="/public"),
    policy(2, Decision.BLOCK, (INC, OU, "Contractors"), order=1),
    policy(3, Decision.ALLOW, (INC, VALID, ""), (EXC, CN, "device-8"), order=2, path="/api"),
    policy(4, Decision.NON_IDENTITY, (INC, CN, "device-7"), order=3),
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(POOL), unique=True),
    st.sampled_from([DEVICE7, OTHER, identity("device-9"), None]),
    st.text(alphabet="/apiubl.x", max_size=12).map(lambda p: "/" + p),
)
def test_evaluation_never_raises_and_only_a_policy_allows(policies, who, path):
    outcome = evaluate(tuple(policies), facts(who, path=path))
    if outcome.allowed:
        assert outcome.policy is not None and outcome.policy.decision is not Decision.BLOCK
        assert path_covered(outcome.policy.path_prefix, path)
        assert who is not None
    # The order the caller passes the policies in never changes the outcome.
    assert evaluate(tuple(reversed(policies)), facts(who, path=path)) == outcome
