"""Access policies as plain data, and their evaluation.

The types here are what the snapshot carries; the Django models in ``apps.policies`` are
converted into them once per configuration change, never per request.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from accessctl.core.identity import ClientIdentity, has_control_characters
from accessctl.core.matching import (
    InvalidRuleValue,
    dns_glob_match,
    glob_match,
    normalize_fingerprint,
)
from accessctl.core.people import (
    Person,
    claim_rule_value,
    matches_claim,
    matches_email,
    matches_email_domain,
    matches_login_method,
    normalize_email,
    normalize_email_domain,
    split_scoped_claim,
)
from accessctl.core.reasons import Reason


class Decision(StrEnum):
    """What a matching policy does. Values are Cloudflare's API names."""

    NON_IDENTITY = "non_identity"
    ALLOW = "allow"
    BLOCK = "deny"
    BYPASS = "bypass"


class RuleGroup(StrEnum):
    """Include: any rule matches. Require: every rule matches. Exclude: no rule matches."""

    INCLUDE = "include"
    REQUIRE = "require"
    EXCLUDE = "exclude"


class RuleType(StrEnum):
    """What a rule compares: the verified leaf (certificate rules), or the person a login
    established (identity rules, :data:`IDENTITY_RULES`)."""

    COMMON_NAME = "common_name"
    VALID_CERTIFICATE = "valid_certificate"
    SAN_DNS = "san_dns"
    SAN_EMAIL = "san_email"
    SAN_URI = "san_uri"
    ORGANIZATIONAL_UNIT = "organizational_unit"
    FINGERPRINT = "fingerprint_sha256"
    SPKI = "spki_sha256"
    # Identity rules: decided from the login (accessctl.core.people).
    EMAIL = "email"
    EMAIL_DOMAIN = "email_domain"
    EVERYONE = "everyone"
    LOGIN_METHOD = "login_method"
    OIDC_CLAIM = "oidc_claim"


IDENTITY_RULES = frozenset(
    {
        RuleType.EMAIL,
        RuleType.EMAIL_DOMAIN,
        RuleType.EVERYONE,
        RuleType.LOGIN_METHOD,
        RuleType.OIDC_CLAIM,
    }
)
# Non Identity and Bypass decide on the certificate alone: they never ask anyone to log in.
IDENTITY_DECISIONS = frozenset({Decision.ALLOW, Decision.BLOCK})
IDENTITY_RULES_REFUSED = (
    "Identity rules (Emails, Emails ending in, Everyone, Login method, OIDC claim) need a login:"
    " use them in an Allow or Block policy. Non Identity and Bypass decide on the certificate"
    " alone."
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of a policy; ``value`` is empty for Valid Certificate."""

    group: RuleGroup
    type: RuleType
    value: str = ""


@dataclass(frozen=True, slots=True)
class Policy:
    """An enabled policy of one hostname, as evaluated on the request path."""

    id: int
    name: str
    decision: Decision
    order: int
    rules: tuple[Rule, ...]
    session_seconds: int  # 0: "No duration, expires immediately"
    path_prefix: str = "/"

    @property
    def needs_identity(self) -> bool:
        """True when a rule of this policy compares the person (an identity rule)."""
        return any(rule.type in IDENTITY_RULES for rule in self.rules)

    @property
    def needs_certificate(self) -> bool:
        """True when a rule of this policy compares the client certificate."""
        return any(rule.type not in IDENTITY_RULES for rule in self.rules)


# --- Request facts and outcome ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the evaluator knows about one request.

    ``identity`` is the identity of the *verified* leaf, or None. ``certificate_error`` is a
    reason code when no verified identity exists: ``"no_certificate"`` when none was
    presented, otherwise the verification's code (``chain_untrusted``, ``cert_expired``…, see
    ``accessctl.core.verify``). ``hostname`` is normalized; ``path`` is the URL path.
    ``person`` is who the request's identity session says logged in, or None.
    """

    hostname: str
    path: str
    identity: ClientIdentity | None
    certificate_error: Reason | None
    now: dt.datetime
    person: Person | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The decision for one request.

    ``reason`` is a stable code for logs and the policy tester:

    - ``bypass``: a Bypass policy matched (allowed, no session: ``session_seconds`` is None);
    - ``policy_allow``: a Non Identity or Allow policy matched (allowed, ``session_seconds``
      from that policy; 0 means the session ends with this request);
    - ``policy_block``: a Block policy matched (denied);
    - ``no_policy_for_path``: no enabled policy of the hostname covers the path (denied);
    - ``certificate_required``: no policy matched and no certificate was presented (denied);
    - a verification code (``chain_untrusted``, ``cert_expired``…): no policy matched and the
      presented certificate failed verification (denied);
    - ``no_matching_policy``: a verified certificate matched no policy (denied);
    - ``identity_required``: no Bypass or Non Identity policy let the request through, and an
      Allow or Block policy covering the path has identity rules while nobody logged in
      (denied: a browser is sent to the login page, a script gets 401).
    """

    allowed: bool
    policy: Policy | None
    session_seconds: int | None
    reason: Reason


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """One rule against one certificate: whether it matched, and why in words."""

    rule: Rule
    matched: bool
    why: str


@dataclass(frozen=True, slots=True)
class PolicyCheck:
    """One policy for one request, as shown by the policy tester.

    ``status`` is one of ``decided`` (this policy decided the request), ``no_match``,
    ``path_not_covered`` (its path prefix does not cover the request) or ``not_reached``
    (an earlier policy decided first; the rules are still shown for the operator).
    """

    policy: Policy
    status: str
    matched: bool
    rules: tuple[RuleCheck, ...]
    why: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """The outcome together with every policy's and every rule's result, in evaluation order."""

    outcome: Outcome
    policies: tuple[PolicyCheck, ...]


# --- Order and paths --------------------------------------------------------------------

# Cloudflare: Bypass and Non Identity first, in their order; then Allow and Block.
_PHASE = {Decision.BYPASS: 0, Decision.NON_IDENTITY: 0, Decision.ALLOW: 1, Decision.BLOCK: 1}


def evaluation_order(policies: Iterable[Policy]) -> tuple[Policy, ...]:
    """Policies sorted as they are evaluated: phase (Bypass/Non Identity, then Allow/Block),
    then ``order``, then ``id`` so that equal orders still give one stable sequence."""
    return tuple(sorted(policies, key=lambda p: (_PHASE[p.decision], p.order, p.id)))


def normalize_path_prefix(value: str) -> str:
    """The stored form of a policy's path prefix: starts with ``/``, no trailing ``/``.

    An empty value means the whole site (``/``). Raises :class:`InvalidRuleValue` for a value
    that is not a plain path (query, fragment, control characters, ``.``/``..`` segments).
    """
    path = value.strip() or "/"
    if not path.startswith("/"):
        raise InvalidRuleValue("a path prefix starts with /, e.g. /api")
    if "?" in path or "#" in path or has_control_characters(path) or " " in path:
        raise InvalidRuleValue("a path prefix is a plain path: no ?, #, spaces or control chars")
    if any(segment in {".", ".."} for segment in path.split("/")):
        raise InvalidRuleValue("a path prefix cannot contain . or .. segments")
    if "//" in path:
        raise InvalidRuleValue("a path prefix cannot contain empty segments (//)")
    if ";" in path:
        # Request paths are compared without their ;parameters (canonical_path): a prefix
        # holding one could never match.
        raise InvalidRuleValue("a path prefix cannot contain ; (path parameters are ignored)")
    return path.rstrip("/") or "/"


def canonical_path(path: str) -> str:
    """The request path with ``.``/``..`` segments resolved and repeated slashes merged.

    Applications and proxies resolve ``/api/../admin`` to ``/admin`` (and Django has already
    decoded ``%2F``), so prefixes are compared with the resolved path: otherwise an Allow on
    ``/api`` would cover ``/api/../admin`` and a Block on ``/admin`` would miss it.
    Path parameters (``;...`` in a segment) are dropped first, as servlet containers do
    before routing: to them ``/public/..;/admin`` is ``/admin`` and ``/admin;x`` is ``/admin``.

    Remembered for paths up to :data:`_REMEMBERED_PATH` characters (4,096 of them at most,
    so a few MiB whatever a client sends): a site's requests use the same few paths over and
    over, and the route lookup and the evaluation both need the canonical form.
    """
    if len(path) <= _REMEMBERED_PATH:
        return _canonical_remembered(path)
    return _canonical(path)


_REMEMBERED_PATH = 512


@functools.lru_cache(maxsize=4096)
def _canonical_remembered(path: str) -> str:
    return _canonical(path)


def _canonical(path: str) -> str:
    segments: list[str] = []
    for param_segment in path.split("/"):
        segment = param_segment.split(";", 1)[0]
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return "/" + "/".join(segments)


def path_covered(prefix: str, path: str) -> bool:
    """Segment-aware prefix test: ``/api`` covers ``/api`` and ``/api/x``, never ``/apix``.

    ``path`` is compared in its :func:`canonical_path` form.
    """
    return covers(prefix, canonical_path(path))


def covers(prefix: str, canonical: str) -> bool:
    """:func:`path_covered` for a path already in :func:`canonical_path` form (the request path
    is made canonical once, then compared with every prefix)."""
    prefix = prefix.rstrip("/")
    return not prefix or canonical == prefix or canonical.startswith(prefix + "/")


# --- Rules ------------------------------------------------------------------------------

_RULE_WORDS = {
    RuleType.COMMON_NAME: "Common Name is",
    RuleType.VALID_CERTIFICATE: "Valid Certificate",
    RuleType.SAN_DNS: "SAN DNS name matches",
    RuleType.SAN_EMAIL: "SAN email matches",
    RuleType.SAN_URI: "SAN URI matches",
    RuleType.ORGANIZATIONAL_UNIT: "Organizational Unit is",
    RuleType.FINGERPRINT: "SHA-256 fingerprint is",
    RuleType.SPKI: "SPKI SHA-256 pin is",
    RuleType.EMAIL: "Emails:",
    RuleType.EMAIL_DOMAIN: "Emails ending in: @",
    RuleType.EVERYONE: "Everyone",
    RuleType.LOGIN_METHOD: "Login method",
    RuleType.OIDC_CLAIM: "OIDC claim",
}
_NO_VALUE = frozenset({RuleType.VALID_CERTIFICATE, RuleType.EVERYONE})
_GROUP_WORDS = {
    RuleGroup.INCLUDE: "Include",
    RuleGroup.REQUIRE: "Require",
    RuleGroup.EXCLUDE: "Exclude",
}
_DNS_PATTERN = re.compile(r"^[a-z0-9*_-]+(\.[a-z0-9*_-]+)*$")
MAX_RULE_VALUE_LENGTH = 255


def describe_rule(rule: Rule) -> str:
    """The rule in words, as listed in the dashboard: ``Include: Common Name is device-7``."""
    words = _RULE_WORDS[rule.type]
    if rule.type in _NO_VALUE:
        text = words
    elif rule.type is RuleType.EMAIL_DOMAIN:
        text = f"{words}{rule.value}"
    elif rule.type is RuleType.OIDC_CLAIM and _is_scoped_claim(rule.value):
        scope, name, wanted = split_scoped_claim(rule.value)
        text = f"{words} {name}={wanted} from login method {scope}"
    else:
        text = f"{words} {rule.value}"
    return f"{_GROUP_WORDS[rule.group]}: {text}"


def login_method_id(value: str) -> str:
    """The stored form of a login method's id in a rule: ASCII digits without leading zeros
    (a person's login method is compared as that text: ``01`` would never match ``1``)."""
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise InvalidRuleValue("must be the id of a login method (a number)")
    return str(int(value))


def _is_scoped_claim(value: str) -> bool:
    try:
        return split_scoped_claim(value)[0] is not None
    except InvalidRuleValue:
        return False


def normalize_rule_value(rule_type: RuleType, value: str) -> str:
    """The stored form of ``value`` for a rule of ``rule_type``; raise InvalidRuleValue.

    One definition for the dashboard form and the ``policies`` command, so both refuse the
    same values: Common Name/OU non-empty and free of control characters, fingerprints 64 hex
    digits (colons and case ignored, stored lowercase), SAN DNS lowercased.
    """
    if rule_type in _NO_VALUE:
        if value.strip():
            raise InvalidRuleValue(f"{_RULE_WORDS[rule_type]} takes no value")
        return ""
    if rule_type is RuleType.EMAIL:
        return normalize_email(value)
    if rule_type is RuleType.EMAIL_DOMAIN:
        return normalize_email_domain(value)
    if rule_type in (RuleType.FINGERPRINT, RuleType.SPKI):
        return normalize_fingerprint(value)
    if not value:
        raise InvalidRuleValue("a value is required for this rule type")
    if len(value) > MAX_RULE_VALUE_LENGTH:
        raise InvalidRuleValue(f"at most {MAX_RULE_VALUE_LENGTH} characters")
    if has_control_characters(value):
        # identity.py drops certificate values holding one, so such a rule could never
        # match: refuse it rather than save a rule that silently does nothing.
        raise InvalidRuleValue("control characters (NUL, tabs, newlines…) are not allowed")
    if value != value.strip():
        raise InvalidRuleValue("leading or trailing spaces would never match; remove them")
    if rule_type is RuleType.SAN_DNS:
        lowered = value.lower()
        if not lowered.isascii() or not _DNS_PATTERN.match(lowered):
            raise InvalidRuleValue(
                "must be a DNS name in ASCII (A-labels), optionally with * inside a label,"
                " e.g. *.devices.example.com"
            )
        return lowered
    if rule_type in (RuleType.SAN_EMAIL, RuleType.SAN_URI) and "**" in value:
        raise InvalidRuleValue("use a single * for any run of characters")
    if rule_type is RuleType.SAN_EMAIL and "@" not in value:
        raise InvalidRuleValue("must be an email address (or a * pattern) containing @")
    if rule_type is RuleType.LOGIN_METHOD:
        return login_method_id(value)
    if rule_type is RuleType.OIDC_CLAIM:
        scope, name, wanted = split_scoped_claim(value)
        return claim_rule_value(name, wanted, login_method_id(scope) if scope else None)
    return value


def check_rules_for_decision(decision: Decision, rule_types: Iterable[RuleType]) -> None:
    """Refuse identity rules in a Non Identity or Bypass policy (raise InvalidRuleValue)."""
    if decision not in IDENTITY_DECISIONS and any(t in IDENTITY_RULES for t in rule_types):
        raise InvalidRuleValue(IDENTITY_RULES_REFUSED)


def _any_match(
    values: Sequence[str], pattern: str, label: str, *, dns: bool = False
) -> tuple[bool, str]:
    match = dns_glob_match if dns else glob_match
    for value in values:
        if match(pattern, value):
            return True, f"{label} {value!r} matches {pattern!r}"
    if not values:
        return False, f"the certificate has no {label}"
    shown = ", ".join(repr(v) for v in values)
    return False, f"no {label} matches {pattern!r} (found {shown})"


def _same_hash(expected: str, actual: str, label: str) -> tuple[bool, str]:
    try:
        wanted = normalize_fingerprint(expected)
    except InvalidRuleValue:
        return False, f"the rule's {label} is not a SHA-256 in hex"
    if wanted == actual:
        return True, f"{label} is {actual}"
    return False, f"{label} is {actual}, not {wanted}"


_PERSON_MATCHERS = {
    RuleType.EMAIL: matches_email,
    RuleType.EMAIL_DOMAIN: matches_email_domain,
    RuleType.LOGIN_METHOD: matches_login_method,
    RuleType.OIDC_CLAIM: matches_claim,
}


def check_person_rule(rule: Rule, person: Person | None) -> RuleCheck:
    """Compare one identity rule with the person who logged in (None: nothing matches)."""
    if person is None:
        return RuleCheck(rule, False, "needs a login")
    if rule.type is RuleType.EVERYONE:
        return RuleCheck(rule, True, f"{person.email!r} logged in")
    matched, why = _PERSON_MATCHERS[rule.type](rule.value, person)
    return RuleCheck(rule, matched, why)


def check_rule(
    rule: Rule, identity: ClientIdentity | None, person: Person | None = None
) -> RuleCheck:
    """Compare one rule with the verified leaf's identity, or for an identity rule with the
    person who logged in (None: nothing matches)."""
    if rule.type in IDENTITY_RULES:
        return check_person_rule(rule, person)
    if identity is None:
        return RuleCheck(rule, False, "needs a verified client certificate")
    value = rule.value
    matched: bool
    if rule.type is RuleType.VALID_CERTIFICATE:
        matched, why = True, "the certificate chains to a CA bound to this hostname"
    elif rule.type is RuleType.COMMON_NAME:
        cn = identity.common_name
        if cn is None:
            # Ambiguous or unsafe names (two CNs, CN in a multi-valued RDN, NUL…) have no CN.
            matched, why = False, f"no usable CN ({identity.common_name_problem})"
        else:
            # Code point equality: no case folding, no normalisation (look-alikes differ).
            matched = cn == value
            why = f"CN is {cn!r}" if matched else f"CN is {cn!r}, not {value!r}"
    elif rule.type is RuleType.ORGANIZATIONAL_UNIT:
        ous = identity.organizational_units
        matched = value in ous
        found = ", ".join(repr(o) for o in ous) or "none"
        why = f"OU {value!r} found" if matched else f"no OU {value!r} (found {found})"
    elif rule.type is RuleType.SAN_DNS:
        matched, why = _any_match(identity.san_dns, value, "SAN DNS name", dns=True)
    elif rule.type is RuleType.SAN_EMAIL:
        matched, why = _any_match(identity.san_emails, value, "SAN email")
    elif rule.type is RuleType.SAN_URI:
        matched, why = _any_match(identity.san_uris, value, "SAN URI")
    elif rule.type is RuleType.FINGERPRINT:
        matched, why = _same_hash(value, identity.fingerprint_sha256, "SHA-256 fingerprint")
    else:
        matched, why = _same_hash(value, identity.spki_sha256, "SPKI SHA-256")
    return RuleCheck(rule, matched, why)


def _policy_result(
    policy: Policy, identity: ClientIdentity | None, person: Person | None = None
) -> tuple[bool, str]:
    """Include (any), Require (all), Exclude (none), short-circuiting on the request path.

    A policy with identity rules never matches without a person: an Exclude on an email
    cannot be passed by nobody logging in.
    """
    includes = [r for r in policy.rules if r.group is RuleGroup.INCLUDE]
    if not includes:
        return False, "no Include rule: a policy without one never matches"
    if person is None and policy.needs_identity:
        return False, "its identity rules need a login"
    if not any(check_rule(r, identity, person).matched for r in includes):
        return False, "no Include rule matched"
    for rule in policy.rules:
        if rule.group is RuleGroup.REQUIRE and not check_rule(rule, identity, person).matched:
            return False, f"Require rule failed: {describe_rule(rule)}"
        if rule.group is RuleGroup.EXCLUDE and check_rule(rule, identity, person).matched:
            return False, f"Exclude rule matched: {describe_rule(rule)}"
    return True, "Include matched, every Require matched, no Exclude matched"


# --- Evaluation -------------------------------------------------------------------------


def _current_identity(facts: RequestFacts) -> tuple[ClientIdentity | None, Reason | None]:
    """The identity usable at ``facts.now`` and, when there is none, the reason code."""
    identity = facts.identity
    if identity is None:
        return None, facts.certificate_error or Reason.NO_CERTIFICATE
    # Verification already checked validity; checked again so that a cached or replayed
    # identity can never outlive its certificate.
    if facts.now < identity.not_before:
        return None, Reason.CERT_NOT_YET_VALID
    if facts.now > identity.not_after:
        return None, Reason.CERT_EXPIRED
    return identity, None


def _decide(policy: Policy) -> Outcome:
    if policy.decision is Decision.BLOCK:
        return Outcome(False, policy, None, Reason.POLICY_BLOCK)
    if policy.decision is Decision.BYPASS:
        return Outcome(True, policy, None, Reason.BYPASS)
    return Outcome(True, policy, policy.session_seconds, Reason.POLICY_ALLOW)


def _no_match(
    covered_any: bool,
    identity: ClientIdentity | None,
    error: Reason | None,
    certificate_could_help: bool = True,
) -> Outcome:
    if not covered_any:
        return Outcome(False, None, None, Reason.NO_POLICY_FOR_PATH)
    if identity is None and certificate_could_help:
        if error is None or error == Reason.NO_CERTIFICATE:
            return Outcome(False, None, None, Reason.CERTIFICATE_REQUIRED)
        return Outcome(False, None, None, error)
    return Outcome(False, None, None, Reason.NO_MATCHING_POLICY)


def evaluate(policies: Iterable[Policy], facts: RequestFacts) -> Outcome:
    """Decide a request from its hostname's enabled policies.

    The policies are sorted here with :func:`evaluation_order` (the snapshot already holds
    them in that order, so this costs little), so a caller cannot get the order wrong. The
    first policy that covers the path and whose rules match decides; nothing matching is a
    denial. Never raises for any identity or path.
    """
    identity, error = _current_identity(facts)
    person = facts.person
    covered_any = False
    # A person refused by identity-only policies is refused for who they are, not for a
    # missing certificate.
    certificate_could_help = person is None
    canonical = canonical_path(facts.path)
    for policy in evaluation_order(policies):
        if not covers(policy.path_prefix, canonical):
            continue
        covered_any = True
        certificate_could_help = certificate_could_help or policy.needs_certificate
        if person is None and policy.needs_identity:
            # Bypass and Non Identity policies (evaluated first) did not let the request
            # through; from here on an Allow or Block depends on who the person is, which
            # only a login can tell. Not guessed: nobody logged in decides nothing.
            return Outcome(False, None, None, Reason.IDENTITY_REQUIRED)
        if _policy_result(policy, identity, person)[0]:
            return _decide(policy)
    return _no_match(covered_any, identity, error, certificate_could_help)


def identity_admissible(policies: Iterable[Policy], person: Person, path: str = "/") -> bool:
    """Whether ``person`` could reach ``path`` with some certificate: the login-time check.

    Identity rules are decided at login, certificate rules on every request: the person is
    admitted at login when an Allow policy covering the path passes on its identity rules
    alone (an Include rule that is a certificate rule counts as possible, certificate Require
    and Exclude rules are left to the request). Block policies, and every certificate rule,
    are applied to each request by :func:`evaluate`.
    """
    canonical = canonical_path(path)
    for policy in evaluation_order(policies):
        if policy.decision is not Decision.ALLOW or not covers(policy.path_prefix, canonical):
            continue
        includes = [r for r in policy.rules if r.group is RuleGroup.INCLUDE]
        if not includes:
            continue
        if not any(
            r.type not in IDENTITY_RULES or check_person_rule(r, person).matched for r in includes
        ):
            continue
        person_rules = [r for r in policy.rules if r.type in IDENTITY_RULES]
        if any(
            r.group is RuleGroup.REQUIRE and not check_person_rule(r, person).matched
            for r in person_rules
        ):
            continue
        if any(
            r.group is RuleGroup.EXCLUDE and check_person_rule(r, person).matched
            for r in person_rules
        ):
            continue
        return True
    return False


def needs_identity(policies: Iterable[Policy]) -> bool:
    """True when some policy of an application has identity rules (its login page is used)."""
    return any(policy.needs_identity for policy in policies)


def explain(policies: Iterable[Policy], facts: RequestFacts) -> Explanation:
    """Like :func:`evaluate`, plus every policy's and rule's result, for the policy tester.

    Policies after the deciding one are marked ``not_reached`` but their rules are still
    checked, so an operator sees what they would have done.
    """
    ordered = evaluation_order(policies)
    outcome = evaluate(ordered, facts)
    identity, error = _current_identity(facts)
    checks: list[PolicyCheck] = []
    decided = False
    for policy in ordered:
        rules = tuple(check_rule(rule, identity, facts.person) for rule in policy.rules)
        matched, why = _policy_result(policy, identity, facts.person)
        if identity is None and not matched:
            why = f"{why} ({error})"
        if not path_covered(policy.path_prefix, facts.path):
            status = "path_not_covered"
            why = f"path {facts.path!r} is outside {policy.path_prefix!r}"
            matched = False
        elif decided:
            status = "not_reached"
        elif policy is outcome.policy:
            status, decided = "decided", True
        else:
            status = "no_match"
        checks.append(PolicyCheck(policy, status, matched, rules, why))
    return Explanation(outcome, tuple(checks))
