"""Each rule type against a certificate identity, and the values each type accepts."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accessctl.core.identity import ClientIdentity
from accessctl.core.matching import InvalidRuleValue, dns_glob_match, glob_match
from accessctl.core.policy import (
    Rule,
    RuleGroup,
    RuleType,
    check_rule,
    describe_rule,
    normalize_path_prefix,
    normalize_rule_value,
)

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
FP = "0123456789abcdef" * 4
SPKI = "fedcba9876543210" * 4

WHO = ClientIdentity(
    fingerprint_sha256=FP,
    spki_sha256=SPKI,
    subject="CN=device-7,OU=Fleet",
    issuer="CN=Root",
    serial="1",
    not_before=NOW,
    not_after=NOW + dt.timedelta(days=1),
    common_name="device-7",
    common_name_problem=None,
    organizational_units=("Fleet", "Ops"),
    san_dns=("device-7.devices.example.com",),
    san_emails=("ops+7@example.com",),
    san_uris=("spiffe://example.com/ns/prod/sa/web",),
)

T = RuleType
# (rule type, rule value, matches WHO)
CASES = [
    (T.COMMON_NAME, "device-7", True),
    (T.COMMON_NAME, "Device-7", False),
    (T.COMMON_NAME, "device-", False),
    (T.COMMON_NAME, "device-*", False),  # Common Name is exact: no globs
    (T.VALID_CERTIFICATE, "", True),
    (T.ORGANIZATIONAL_UNIT, "Ops", True),
    (T.ORGANIZATIONAL_UNIT, "ops", False),
    (T.SAN_DNS, "device-7.devices.example.com", True),
    (T.SAN_DNS, "DEVICE-7.Devices.Example.com", True),
    (T.SAN_DNS, "*.devices.example.com", True),
    (T.SAN_DNS, "device-*.devices.example.com", True),
    (T.SAN_DNS, "*.example.com", False),  # * stays within one label
    (T.SAN_DNS, "*", False),
    (T.SAN_DNS, "device-?.devices.example.com", False),  # ? is literal
    (T.SAN_EMAIL, "ops+7@example.com", True),
    (T.SAN_EMAIL, "*@example.com", True),
    (T.SAN_EMAIL, "*@Example.com", False),
    (T.SAN_EMAIL, "ops[+]7@example.com", False),  # [] is literal
    (T.SAN_EMAIL, "*@example.co", False),
    (T.SAN_URI, "spiffe://example.com/ns/prod/sa/web", True),
    (T.SAN_URI, "spiffe://example.com/ns/prod/*", True),  # * crosses slashes
    (T.SAN_URI, "spiffe://example.com/ns/dev/*", False),
    (T.FINGERPRINT, FP, True),
    (T.FINGERPRINT, ":".join(FP[i : i + 2] for i in range(0, 64, 2)).upper(), True),
    (T.FINGERPRINT, SPKI, False),
    (T.FINGERPRINT, "not hex", False),
    (T.SPKI, SPKI.upper(), True),
    (T.SPKI, FP, False),
]


@pytest.mark.parametrize(("rule_type", "value", "matches"), CASES)
def test_each_rule_type_compares_its_own_certificate_fact(rule_type, value, matches):
    check = check_rule(Rule(RuleGroup.INCLUDE, rule_type, value), WHO)
    assert check.matched is matches
    assert check.why


@pytest.mark.parametrize("rule_type", list(RuleType))
def test_no_rule_type_matches_without_a_verified_certificate(rule_type):
    value = (
        FP
        if rule_type in (T.FINGERPRINT, T.SPKI)
        else ("" if rule_type is T.VALID_CERTIFICATE else "*")
    )
    assert check_rule(Rule(RuleGroup.INCLUDE, rule_type, value), None).matched is False


def test_a_certificate_without_sans_says_so():
    bare = ClientIdentity(**{**{f: getattr(WHO, f) for f in WHO.__slots__}, "san_dns": ()})
    check = check_rule(Rule(RuleGroup.INCLUDE, T.SAN_DNS, "*.example.com"), bare)
    assert (check.matched, check.why) == (False, "the certificate has no SAN DNS name")


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("abc", "abc", True),
        ("abc", "abcd", False),
        ("a*", "a", False),  # a star takes at least one character
        ("a*", "ab", True),
        ("*b*", "abc", True),
        ("*b*", "bc", False),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "abc", False),
        ("a*a", "aa", False),
        ("a*a", "aba", True),
        ("ab*ba", "aba", False),  # prefix and suffix may not overlap
        ("*x*y*", "axbyc", True),
        ("*x*y*", "ayxb", False),
    ],
)
def test_glob_stars_take_one_or_more_characters(pattern, value, matches):
    assert glob_match(pattern, value) is matches


def test_glob_on_a_hostile_value_is_fast():
    # A backtracking matcher needs polynomial-to-exponential time here; this one places each
    # piece once. 20 000 of these finish in well under a second.
    started = time.perf_counter()
    for _ in range(20_000):
        assert glob_match("*a*a*a*a*a*a*a*a*b*", "a" * 200) is False
    assert time.perf_counter() - started < 2


def test_dns_glob_never_crosses_a_label():
    assert dns_glob_match("*.example.com", "a.b.example.com") is False
    assert dns_glob_match("a.*.example.com", "a.b.example.com") is True


@pytest.mark.parametrize(
    ("rule_type", "value", "stored"),
    [
        (T.COMMON_NAME, "device-7", "device-7"),
        (T.VALID_CERTIFICATE, "", ""),
        (T.FINGERPRINT, "AB:" * 31 + "AB", "ab" * 32),
        (T.SPKI, " " + "CD" * 32 + " ", "cd" * 32),
        (T.SAN_DNS, "*.Devices.Example.COM", "*.devices.example.com"),
        (T.SAN_EMAIL, "*@example.com", "*@example.com"),
        (T.SAN_URI, "spiffe://example.com/*", "spiffe://example.com/*"),
        (T.ORGANIZATIONAL_UNIT, "Fleet", "Fleet"),
    ],
)
def test_rule_values_are_normalized_when_saved(rule_type, value, stored):
    assert normalize_rule_value(rule_type, value) == stored


@pytest.mark.parametrize(
    ("rule_type", "value", "message"),
    [
        (T.COMMON_NAME, "", "a value is required"),
        (T.COMMON_NAME, "admin\x00x", "control characters"),
        (T.COMMON_NAME, " admin", "leading or trailing spaces"),
        (T.ORGANIZATIONAL_UNIT, "", "a value is required"),
        (T.VALID_CERTIFICATE, "something", "takes no value"),
        (T.FINGERPRINT, "ab" * 31, "64 hexadecimal digits"),
        (T.SPKI, "zz" * 32, "64 hexadecimal digits"),
        (T.SAN_DNS, "dévice.example.com", "ASCII"),
        (T.SAN_DNS, "a..example.com", "DNS name"),
        (T.SAN_EMAIL, "not-an-email", "containing @"),
        (T.SAN_URI, "spiffe://**", "single *"),
        (T.COMMON_NAME, "x" * 256, "at most 255"),
    ],
)
def test_rule_values_that_cannot_match_are_refused(rule_type, value, message):
    with pytest.raises(InvalidRuleValue, match=message):
        normalize_rule_value(rule_type, value)


@pytest.mark.parametrize(
    ("value", "stored"), [("", "/"), ("/", "/"), ("/api/", "/api"), ("/api/v1", "/api/v1")]
)
def test_path_prefixes_are_normalized(value, stored):
    assert normalize_path_prefix(value) == stored


@pytest.mark.parametrize("value", ["api", "/api?x=1", "/a/../b", "/a//b", "/a\x00"])
def test_path_prefixes_that_are_not_plain_paths_are_refused(value):
    with pytest.raises(InvalidRuleValue):
        normalize_path_prefix(value)


def test_rules_read_as_words():
    assert describe_rule(Rule(RuleGroup.INCLUDE, T.COMMON_NAME, "device-7")) == (
        "Include: Common Name is device-7"
    )
    assert describe_rule(Rule(RuleGroup.EXCLUDE, T.VALID_CERTIFICATE)) == (
        "Exclude: Valid Certificate"
    )


def _reference(pattern: str, value: str) -> bool:
    """The obvious (backtracking) definition the fast matcher must agree with."""
    regex = ".+".join(re.escape(piece) for piece in pattern.split("*"))
    return re.fullmatch(regex, value, re.DOTALL) is not None


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab*.", max_size=8), st.text(alphabet="ab.", max_size=10))
def test_glob_agrees_with_the_regular_expression_definition(pattern, value):
    assert glob_match(pattern, value) is _reference(pattern, value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab*.", max_size=8), st.text(alphabet="ab.", max_size=10))
def test_dns_glob_agrees_with_stars_confined_to_a_label(pattern, value):
    regex = "[^.]+".join(re.escape(piece) for piece in pattern.split("*"))
    assert dns_glob_match(pattern, value) is (re.fullmatch(regex, value) is not None)
