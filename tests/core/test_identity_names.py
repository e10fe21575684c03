"""Names that try to pass for `admin` never match a Common Name rule."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from accessctl.core.identity import identity_of
from accessctl.core.policy import (
    Decision,
    Policy,
    RequestFacts,
    Rule,
    RuleGroup,
    RuleType,
    check_rule,
    evaluate,
)
from tests.factories import certs

ADMIN_ONLY = Policy(
    id=1,
    name="admins",
    decision=Decision.NON_IDENTITY,
    order=1,
    rules=(Rule(RuleGroup.INCLUDE, RuleType.COMMON_NAME, "admin"),),
    session_seconds=3600,
)
CN_RULE = ADMIN_ONLY.rules[0]


def cn(value: str) -> x509.NameAttribute:
    return x509.NameAttribute(NameOID.COMMON_NAME, value)


def ou(value: str) -> x509.NameAttribute:
    return x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, value)


def decide(root_ca, subject: x509.Name):
    leaf = certs.make_leaf(root_ca, subject=subject)
    who = identity_of(leaf.cert)
    facts = RequestFacts("app.example.com", "/", who, None, dt.datetime.now(dt.UTC))
    return who, evaluate((ADMIN_ONLY,), facts)


def test_a_plain_admin_certificate_matches(root_ca):
    who, outcome = decide(root_ca, x509.Name([cn("admin")]))
    assert who.common_name == "admin"
    assert (outcome.allowed, outcome.reason) == (True, "policy_allow")


@pytest.mark.parametrize(
    ("subject", "problem"),
    [
        # 16. Two CN attributes, in either order: no CN at all, rather than a guess.
        (x509.Name([cn("admin"), cn("guest")]), "multiple_cn"),
        (x509.Name([cn("guest"), cn("admin")]), "multiple_cn"),
        # 17. A NUL byte: `admin\0x` must not be read as `admin` by anything downstream.
        (x509.Name([cn("admin\x00x")]), "cn_control_characters"),
        # A multi-valued RDN holding a CN (OU=x+CN=admin) is ambiguous by construction.
        (
            x509.Name([x509.RelativeDistinguishedName([ou("HR"), cn("admin")])]),
            "cn_in_multivalued_rdn",
        ),
    ],
    ids=["two-cns", "two-cns-reversed", "nul-byte", "multi-valued-rdn"],
)
def test_ambiguous_common_names_never_match(root_ca, subject, problem):
    who, outcome = decide(root_ca, subject)
    assert who.common_name is None
    assert who.common_name_problem == problem
    assert (outcome.allowed, outcome.reason) == (False, "no_matching_policy")
    assert check_rule(CN_RULE, who).why == f"no usable CN ({problem})"


def test_an_ou_spelling_a_cn_is_not_a_cn(root_ca):
    # 18. OU "HR + CN=admin" renders like a CN in RFC 4514 text but is an OU value.
    who, outcome = decide(root_ca, x509.Name([ou("HR + CN=admin"), cn("guest")]))
    assert who.common_name == "guest"
    assert "CN=admin" in who.subject  # the text form would fool a string search
    assert outcome.allowed is False


def test_an_ou_alone_spelling_a_cn_gives_no_cn(root_ca):
    who, outcome = decide(root_ca, x509.Name([ou("HR + CN=admin")]))
    assert (who.common_name, who.common_name_problem) == (None, "no_cn")
    assert outcome.allowed is False


@pytest.mark.parametrize(
    "lookalike",
    [
        "\u0430dmin",  # Cyrillic а
        "admin\u200b",  # zero-width space (a format character)
        "ADMIN",
        "admin ",
        "\uff41dmin",  # fullwidth ａ, which NFKC would fold to a
    ],
    ids=["cyrillic-a", "zero-width-space", "upper-case", "trailing-space", "fullwidth-a"],
)
def test_look_alike_common_names_never_match(root_ca, lookalike):
    # 19. Code point equality only: no case folding, no Unicode normalisation.
    _, outcome = decide(root_ca, x509.Name([cn(lookalike)]))
    assert outcome.allowed is False


def test_control_characters_in_an_ou_drop_that_ou(root_ca):
    leaf = certs.make_leaf(root_ca, subject=x509.Name([ou("Fleet\x00"), ou("Ops"), cn("d")]))
    who = identity_of(leaf.cert)
    assert who.organizational_units == ("Ops",)
    assert (
        check_rule(Rule(RuleGroup.INCLUDE, RuleType.ORGANIZATIONAL_UNIT, "Fleet"), who).matched
        is False
    )
