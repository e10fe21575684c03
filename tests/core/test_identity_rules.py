"""Identity rules in the pure evaluator: every type in every group, with certificate rules.

The person comes from the login (decided once, carried by the session); the certificate is
the one of this request. A policy with identity rules never matches without a login.
"""

from __future__ import annotations

import pytest

from accessctl.core.matching import InvalidRuleValue
from accessctl.core.people import claim_values
from accessctl.core.policy import (
    Decision,
    RuleType,
    check_rules_for_decision,
    describe_rule,
    evaluate,
    explain,
    identity_admissible,
    normalize_rule_value,
)
from accessctl.core.policy import Rule as CoreRule
from tests.factories.evaluation import (
    ADA,
    CLAIM,
    CN,
    DEVICE7,
    DOMAIN,
    EMAIL,
    EVERYONE,
    EXC,
    INC,
    METHOD,
    REQ,
    VALID,
    facts,
    identity,
    person,
    policy,
)

# (rule type, a value ADA matches, a value ADA does not match or None when every login does)
IDENTITY_VALUES = [
    (EMAIL, "ada@example.com", "bob@example.com"),
    (DOMAIN, "example.com", "example.org"),
    (EVERYONE, "", None),
    (METHOD, "1", "2"),
    (CLAIM, "groups=engineers", "groups=admins"),
    (CLAIM, "department=research", "department=sales"),
    # The claim of one login method (ADA logged in with login method 1).
    (CLAIM, "1|groups=engineers", "2|groups=engineers"),
]
TYPES = [pytest.param(t, yes, no, id=f"{t.value}:{yes}") for t, yes, no in IDENTITY_VALUES]


def decided(policies, **kwargs):
    outcome = evaluate(policies, facts(**kwargs))
    return outcome.allowed, outcome.reason, outcome.policy.id if outcome.policy else None


@pytest.mark.parametrize(("rule_type", "yes", "no"), TYPES)
def test_an_identity_include_with_a_certificate_require_needs_both(rule_type, yes, no):
    allow = [policy(1, Decision.ALLOW, (INC, rule_type, yes), (REQ, VALID, ""))]
    assert decided(allow, who=DEVICE7, login=ADA) == (True, "policy_allow", 1)
    assert decided(allow, login=ADA) == (False, "certificate_required", None)
    assert decided(allow, who=DEVICE7) == (False, "identity_required", None)
    if no is not None:
        refused = [policy(1, Decision.ALLOW, (INC, rule_type, no), (REQ, VALID, ""))]
        assert decided(refused, who=DEVICE7, login=ADA) == (False, "no_matching_policy", None)


@pytest.mark.parametrize(("rule_type", "yes", "no"), TYPES)
def test_an_identity_require_must_match_beside_a_certificate_include(rule_type, yes, no):
    allow = [policy(1, Decision.ALLOW, (INC, CN, "device-7"), (REQ, rule_type, yes))]
    assert decided(allow, who=DEVICE7, login=ADA) == (True, "policy_allow", 1)
    assert decided(allow, who=identity("device-8"), login=ADA)[1] == "no_matching_policy"
    assert decided(allow, who=DEVICE7)[1] == "identity_required"
    if no is not None:
        refused = [policy(1, Decision.ALLOW, (INC, CN, "device-7"), (REQ, rule_type, no))]
        assert decided(refused, who=DEVICE7, login=ADA) == (False, "no_matching_policy", None)


@pytest.mark.parametrize(("rule_type", "yes", "no"), TYPES)
def test_an_identity_exclude_refuses_whom_it_names(rule_type, yes, no):
    excluded = [policy(1, Decision.ALLOW, (INC, VALID, ""), (EXC, rule_type, yes))]
    assert decided(excluded, who=DEVICE7, login=ADA) == (False, "no_matching_policy", None)
    # Nobody logging in does not pass an Exclude on a person: a login is asked for.
    assert decided(excluded, who=DEVICE7)[1] == "identity_required"
    if no is not None:
        allowed = [policy(1, Decision.ALLOW, (INC, VALID, ""), (EXC, rule_type, no))]
        assert decided(allowed, who=DEVICE7, login=ADA) == (True, "policy_allow", 1)


@pytest.mark.parametrize(("rule_type", "yes", "no"), TYPES)
def test_a_block_on_an_identity_rule_refuses_before_a_later_allow(rule_type, yes, no):
    policies = [
        policy(1, Decision.BLOCK, (INC, rule_type, yes), order=1),
        policy(2, Decision.ALLOW, (INC, EVERYONE, ""), (REQ, VALID, ""), order=2),
    ]
    assert decided(policies, who=DEVICE7, login=ADA) == (False, "policy_block", 1)
    if no is not None:
        policies[0] = policy(1, Decision.BLOCK, (INC, rule_type, no), order=1)
        assert decided(policies, who=DEVICE7, login=ADA) == (True, "policy_allow", 2)


@pytest.mark.parametrize(("rule_type", "yes", "no"), TYPES)
def test_an_identity_include_alone_lets_a_login_through_without_a_certificate(rule_type, yes, no):
    allow = [policy(1, Decision.ALLOW, (INC, rule_type, yes))]
    assert decided(allow, login=ADA) == (True, "policy_allow", 1)
    assert decided(allow) == (False, "identity_required", None)


def test_a_certificate_failing_its_rule_is_refused_whatever_the_login_says():
    policies = [policy(1, Decision.ALLOW, (INC, EVERYONE, ""), (REQ, CN, "device-7"))]
    assert decided(policies, who=identity("device-8"), login=ADA)[1] == "no_matching_policy"


def test_non_identity_policies_still_decide_first_without_a_login():
    policies = [
        policy(1, Decision.NON_IDENTITY, (INC, CN, "device-7"), order=5),
        policy(2, Decision.ALLOW, (INC, EMAIL, "ada@example.com"), order=1),
    ]
    assert decided(policies, who=DEVICE7) == (True, "policy_allow", 1)
    assert decided(policies, who=identity("device-8")) == (False, "identity_required", None)


def test_a_certificate_only_allow_before_an_identity_policy_needs_no_login():
    policies = [
        policy(1, Decision.ALLOW, (INC, CN, "device-7"), order=1),
        policy(2, Decision.ALLOW, (INC, EVERYONE, ""), order=2),
    ]
    assert decided(policies, who=DEVICE7) == (True, "policy_allow", 1)
    assert decided(policies) == (False, "identity_required", None)


def test_emails_compare_without_case_and_domains_exactly():
    upper = person("Ada@Example.COM")
    assert decided([policy(1, Decision.ALLOW, (INC, EMAIL, "ada@example.com"))], login=upper)[0]
    lookalike = person("ada@evil-example.com")
    rule = [policy(1, Decision.ALLOW, (INC, DOMAIN, "example.com"))]
    assert decided(rule, login=lookalike)[1] == "no_matching_policy"
    sub = person("ada@mail.example.com")
    assert decided(rule, login=sub)[1] == "no_matching_policy"


def test_a_claim_rule_matches_one_item_of_a_list_claim_and_nothing_else():
    rule = [policy(1, Decision.ALLOW, (INC, CLAIM, "groups=admins"))]
    assert decided(rule, login=person(groups=("engineers", "admins")))[0]
    assert not decided(rule, login=person(groups=("administrators",)))[0]
    assert not decided(rule, login=person(groups=()))[0]


def test_claim_values_keep_strings_numbers_and_list_items_only():
    assert claim_values(["a", 1, True, {"x": 1}, None]) == ("a", "1", "true")
    assert claim_values("x") == ("x",)
    assert claim_values({"nested": "no"}) == ()


@pytest.mark.parametrize(
    ("rule_type", "given", "stored"),
    [
        (EMAIL, " Ada@Example.com ", "ada@example.com"),
        (DOMAIN, "@Example.COM", "example.com"),
        (DOMAIN, "example.com", "example.com"),
        (EVERYONE, "", ""),
        (METHOD, "3", "3"),
        (METHOD, "03", "3"),
        (CLAIM, "03|groups=admins", "3|groups=admins"),
        (CLAIM, "groups = admins", "groups=admins"),
        (CLAIM, "groups=admins", "groups=admins"),
        (CLAIM, "3|groups = admins", "3|groups=admins"),
    ],
)
def test_identity_rule_values_are_stored_normalized(rule_type, given, stored):
    assert normalize_rule_value(rule_type, given) == stored


@pytest.mark.parametrize(
    ("rule_type", "given"),
    [
        (EMAIL, "ada"),
        (EMAIL, "ada@"),
        (EMAIL, "a@b@example.com"),
        (DOMAIN, "example"),
        (DOMAIN, "exa mple.com"),
        (EVERYONE, "anyone"),
        (METHOD, "okta"),
        (METHOD, "³"),
        (METHOD, "9" * 19),
        (METHOD, ""),
        (CLAIM, "groups"),
        (CLAIM, "=admins"),
        (CLAIM, "groups="),
        (CLAIM, "okta|groups=admins"),
        (CLAIM, "3|"),
        (CLAIM, "3|=admins"),
    ],
)
def test_identity_rule_values_that_mean_nothing_are_refused(rule_type, given):
    with pytest.raises(InvalidRuleValue):
        normalize_rule_value(rule_type, given)


@pytest.mark.parametrize("decision", [Decision.NON_IDENTITY, Decision.BYPASS])
@pytest.mark.parametrize("rule_type", [t for t, _, _ in IDENTITY_VALUES])
def test_identity_rules_are_refused_in_non_identity_and_bypass(decision, rule_type):
    with pytest.raises(InvalidRuleValue, match="Allow or Block"):
        check_rules_for_decision(decision, [RuleType.VALID_CERTIFICATE, rule_type])


@pytest.mark.parametrize("decision", [Decision.ALLOW, Decision.BLOCK])
def test_identity_rules_are_accepted_in_allow_and_block(decision):
    check_rules_for_decision(decision, [EMAIL, VALID])


def test_the_login_check_admits_whom_an_allow_could_let_through_with_a_certificate():
    policies = [
        policy(1, Decision.ALLOW, (INC, DOMAIN, "example.com"), (REQ, VALID, "")),
        policy(2, Decision.BLOCK, (INC, EVERYONE, "")),
    ]
    assert identity_admissible(policies, ADA)
    assert not identity_admissible(policies, person("eve@example.org"))
    excluded = [policy(1, Decision.ALLOW, (INC, VALID, ""), (EXC, EMAIL, "ada@example.com"))]
    assert not identity_admissible(excluded, ADA)
    assert identity_admissible(excluded, person("bob@example.com"))


def test_the_tester_explains_identity_rules_with_and_without_a_login():
    policies = [policy(1, Decision.ALLOW, (INC, EMAIL, "ada@example.com"), (REQ, VALID, ""))]
    with_login = explain(policies, facts(DEVICE7, login=ADA))
    assert with_login.outcome.allowed
    assert [r.matched for r in with_login.policies[0].rules] == [True, True]
    without = explain(policies, facts(DEVICE7))
    assert without.outcome.reason == "identity_required"
    assert without.policies[0].rules[0].why == "needs a login"


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (CoreRule(INC, EMAIL, "ada@example.com"), "Include: Emails: ada@example.com"),
        (CoreRule(REQ, DOMAIN, "example.com"), "Require: Emails ending in: @example.com"),
        (CoreRule(INC, EVERYONE, ""), "Include: Everyone"),
        (CoreRule(EXC, METHOD, "2"), "Exclude: Login method 2"),
        (CoreRule(INC, CLAIM, "groups=admins"), "Include: OIDC claim groups=admins"),
        (
            CoreRule(INC, CLAIM, "3|groups=admins"),
            "Include: OIDC claim groups=admins from login method 3",
        ),
    ],
)
def test_identity_rules_read_as_the_dashboard_lists_them(rule, words):
    assert describe_rule(rule) == words
